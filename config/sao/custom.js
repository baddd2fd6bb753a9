/* This file is part of the CRM suite.  The COPYRIGHT file at the top level
 * of this repository contains the full copyright notices and license terms.
 *
 * Additions to the Tryton web client (sao), which loads this file from its
 * root as custom.js after its own code (scripts/lib.sh copies it there).
 */
(function() {
    'use strict';

    // A selection widget refills its <select> at each display of the form
    // and selects the record's value only once the options are ready, a few
    // ticks later. A form-wide set_value in between (the user clicks the
    // "new" button of a one2many or saves while the form is redrawn after an
    // on_change) took the refilled list's first option for the user's
    // choice: a new customer lost its ownership ("归属方式" is required) and
    // got the first language of the list. Select the record's value as soon
    // as the options are refilled, so that the widget never shows another.
    const Selection = Sao.View.Form.Selection.prototype;
    const set_selection = Selection.set_selection;
    Selection.set_selection = function(selection, help) {
        const result = set_selection.apply(this, arguments);
        if (this.record && this.field) {
            const value = JSON.stringify(this.field.get(this.record));
            if (this.select.children('option').filter(
                    (i, option) => option.value === value).length) {
                this.select.val(value);
            }
        }
        return result;
    };

    // A row's button acts on the first click. sao took the first click on
    // the button of a row other than the current one for a click on the
    // row: it selected the row and the user had to click again.
    const ButtonColumn = Sao.View.Tree.ButtonColumn.prototype;
    const button_clicked = ButtonColumn.button_clicked;
    ButtonColumn.button_clicked = function(event) {
        const record = event.data[0];
        if (record != this.view.screen.current_record) {
            // the row selects its record, then the button is pressed
            setTimeout(() => {
                if (record == this.view.screen.current_record) {
                    button_clicked.call(this, event);
                }
            });
        }
        return button_clicked.apply(this, arguments);
    };

    // What a button did, told at once. The server tells the user the
    // result of some buttons by a notification (res.notification: "已占有
    // 1 个客户：……今日还可占有 19 个。"), which reaches the web client by
    // the bus only, when the server has one (not the SQLite demo); the bell
    // then stayed dark until the next login. After a button, the
    // notifications it made show in its tab's message bar, are marked read,
    // and the bell's count is refreshed.
    // (a model is bound to the session of its creation: made at each use)
    const notifications = () => new Sao.Model('res.notification');
    const Screen = Sao.Screen.prototype;
    const button = Screen.button;
    Screen.button = function() {
        const args = arguments;
        return notifications().execute('get', [1], {}, true, false).then(
            last => (last.length ? last[0].id : 0), () => null)
            .then(since => {
                const result = button.apply(this, args);
                if (since !== null) {
                    jQuery.when(result).always(() => tell(this, since));
                }
                return result;
            });
    };

    function tell(screen, since) {
        notifications().execute('get', [5], {}, true, false).then(
            last => {
                const fresh = last.filter(
                    n => n.id > since && n.unread).reverse();
                if (!fresh.length) {
                    return;
                }
                for (const window_ of screen.windows) {
                    for (const n of window_.info_bar ? fresh : []) {
                        window_.info_bar.add(
                            [n.label, n.description].filter(Boolean)
                            .join('\n'), 'info', 'crm-notification');
                    }
                }
                notifications().execute(
                    'mark_read', [fresh.map(n => n.id)], {}, true, false)
                    .always(() => Sao.NotificationMenu.count());
            });
    }

    // One tab per list. sao focuses the tab of an action already open, but
    // only once that tab is drawn: a menu entry activated again while its
    // tab loads (a double click read twice on a busy machine, an impatient
    // user) opened the same list two or three times. An identical opening
    // still in progress is joined instead.
    const create = Sao.Tab.create;
    const opening = new Map();
    Sao.Tab.create = function(attributes) {
        let key;
        try {
            key = JSON.stringify(attributes || {});
        } catch (e) {
            return create.apply(this, arguments);
        }
        if (opening.has(key)) {
            return opening.get(key);
        }
        const prm = create.apply(this, arguments);
        opening.set(key, prm);
        prm.always(() => opening.delete(key));
        return prm;
    };
})();
