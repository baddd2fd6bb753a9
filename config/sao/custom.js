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
})();
