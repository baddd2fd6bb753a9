# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The web client on a phone-sized screen (390×844, LN-09).

A demo rep logs in on a 390×844 viewport and works the day from the phone,
nothing scrolling sideways:

* today's tasks: the work reminders open at login and list the rep's
  callbacks due today, a line or two each;
* the loop: the customer's name in a reminder opens the customer; "Call"
  (通话) queues a call from the rep's extension; "Send SMS" (发送短信) sends
  a text recorded on the customer; 写跟进 with the next callback closes
  today's reminder; back on the reminders, the next customer waits;
* the customer list, a line or two a customer, the mobile masked;
* a signed loan application shows the disburse button, and a photo of the
  contract is uploaded through the attachment menu.

Each step is checked in the database over JSON-RPC. Screenshots land in
``test-artifacts/``.
"""
import base64
from contextlib import contextmanager

import pytest

from testing.demo_server import serve_demo
from tests.test_browser import (ARTIFACTS, RPC, active, browsing, click,
    form_button, login, open_record, screen_ok, snapshot)

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844
# a small PNG standing for the photo a phone camera takes
PHOTO = base64.b64decode(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ'
    'DwAEhQGAhKmMIQAAAABJRU5ErkJggg==')


@pytest.fixture(scope='module')
def demo_url():
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_demo(ARTIFACTS / 'trytond-browser-mobile.log') as url:
        yield url


@contextmanager
def mobile_browsing(failure):
    """A browser the size of a phone for one test; on failure, a screenshot
    of its page is kept in test-artifacts/ as failure"""
    with browsing(failure, WIDTH, HEIGHT) as driver:
        driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
                'width': WIDTH, 'height': HEIGHT, 'deviceScaleFactor': 2,
                'mobile': True})
        yield driver


def mobile_login(driver, url, user, password):
    """Log in; answer the password dialog again if a slow start raced it

    On a phone the menu is folded away: the login action's tab (the work
    reminders) tells the client is ready."""
    from selenium.common.exceptions import (
        StaleElementReferenceException, TimeoutException)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    login(driver, url, user, password)
    password_field = (By.CSS_SELECTOR, 'input[type="password"]')
    for _ in range(2):
        try:
            field = WebDriverWait(driver, 5).until(
                EC.visibility_of_element_located(password_field))
        except TimeoutException:
            break
        field.send_keys(password, Keys.ENTER)
    wait = WebDriverWait(driver, 180,
        ignored_exceptions=[StaleElementReferenceException])
    wait.until(lambda d: '我的工作提醒' in d.find_element(
            By.CSS_SELECTOR, '#tabs').text)
    return wait


def no_sideways_scroll(driver):
    "Nothing on the page is wider than the phone's screen"
    return driver.execute_script(
        'return document.documentElement.scrollWidth <= window.innerWidth')


def test_rep_works_the_day_on_phone(demo_url, tmp_path):
    """The rep's loop on a phone, without sideways scrolling: the reminders
    listed at login → tap the customer → 通话 → 发送短信 → 写跟进 with the
    next callback → back to the reminders, where the customer is done and
    the next one waits (#16)"""
    import datetime as dt

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    from demo.loader import password_of
    from tests.test_browser import typed
    rpc = RPC(demo_url, 'rep1', password_of('rep1'))
    today = rpc.model('ir.date', 'today')
    due = rpc.model('crm.followup', 'search_read', [
            ('reminder_state', '=', 'open'),
            ('next_callback', '<=', today),
            ('party.contact_mechanisms.type', '=', 'mobile'),
            ], 0, None, [('next_callback', 'ASC'), ('id', 'ASC')],
        ['party', 'party.rec_name'])
    assert len({d['party'] for d in due}) > 1, (
        'the demo rep has fewer than two callbacks due today')
    party_id = due[0]['party']
    party_name = due[0]['party.']['rec_name']
    following = next(d['party.']['rec_name'] for d in due
        if d['party'] != party_id)
    employee = rpc.context['employee']
    calls_before = rpc.model('pbx.call', 'search_count', [
            ('party', '=', party_id), ('employee', '=', employee)])
    sms_before = rpc.model('sms.message', 'search_count', [
            ('party', '=', party_id)])
    content = '手机上写跟进：客户约好周五来店'
    callback = dt.date.today() + dt.timedelta(days=3)

    with mobile_browsing('browser_mobile_failure.png') as driver:
        wait = mobile_login(driver, demo_url, 'rep1', password_of('rep1'))
        assert driver.execute_script('return window.innerWidth') == WIDTH
        # today's tasks: the callbacks due today are listed at login
        reminders = active(driver)
        wait.until(lambda d: party_name in reminders.text)
        assert no_sideways_scroll(driver)
        snapshot(driver, 'browser_mobile_today.png')

        # the customer's name in the reminder opens the customer
        click(driver, reminders.find_element(
                By.XPATH, f'.//tbody//a[normalize-space()="{party_name}"]'))
        wait.until(lambda d: party_name in [
                i.get_attribute('value') for i in active(d).find_elements(
                    By.CSS_SELECTOR, '.form input[name="name"]')])
        assert no_sideways_scroll(driver)

        # calling: the customer's Call button rings the rep, then the customer
        click(driver, form_button(driver, '通话'))
        wait.until(lambda d: rpc.model('pbx.call', 'search_count', [
                    ('party', '=', party_id), ('employee', '=', employee),
                    ]) == calls_before + 1)

        # SMS: the Send SMS button opens the wizard on the customer
        click(driver, form_button(driver, '发送短信'))
        dialog = wait.until(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, '.modal-dialog')))
        # typed once the wizard shows its one recipient (sao redraws the
        # dialog with the wizard's defaults)
        wait.until(lambda d: '1' in [i.get_attribute('value')
                for i in dialog.find_elements(
                    By.CSS_SELECTOR, 'input[name="count"]')])
        typed(driver, lambda d: dialog.find_element(
                By.CSS_SELECTOR, 'textarea[name="text"]'),
            '刘先生您好，合同已准备好，明天上午来签。')
        wait.until(lambda d: '合同已准备好' in dialog.find_element(
                By.CSS_SELECTOR, 'textarea[name="preview"]').get_attribute(
                'value'))
        snapshot(driver, 'browser_mobile_sms.png')
        click(driver, dialog.find_element(
                By.XPATH, './/button[normalize-space()="发送"]'))
        wait.until(lambda d: rpc.model('sms.message', 'search_count', [
                    ('party', '=', party_id),
                    ('text', 'like', '%合同已准备好%'),
                    ]) == 1)
        assert rpc.model('sms.message', 'search_count', [
                ('party', '=', party_id)]) == sms_before + 1
        wait.until(lambda d: not d.find_elements(
                By.CSS_SELECTOR, '.modal-dialog'))

        # 写跟进: what was said and the next callback
        click(driver, form_button(driver, '写跟进'))
        typed(driver, lambda d: next((t for t in active(d).find_elements(
                        By.CSS_SELECTOR, 'textarea[name="content"]')
                    if t.is_displayed()), None), content)
        typed(driver, lambda d: next((i for i in active(d).find_elements(
                        By.CSS_SELECTOR, 'input[name="next_callback"]')
                    if i.is_displayed()), None),
            callback.strftime('%Y-%m-%d'))
        assert no_sideways_scroll(driver)
        snapshot(driver, 'browser_mobile_followup.png')
        click(driver, active(driver).find_element(
                By.CSS_SELECTOR, 'button#save'))
        followup, = wait.until(lambda d: rpc.model('crm.followup',
                'search_read', [('content', '=', content),
                    ('party', '=', party_id)], 0, None, None,
                ['party', 'next_callback', 'reminder_state']))
        assert (followup['party'], followup['reminder_state']) == (
            party_id, 'open')
        assert followup['next_callback']['day'] == callback.day
        # the customer's reminders of today are done
        assert not rpc.model('crm.followup', 'search', [
                ('party', '=', party_id), ('reminder_state', '=', 'open'),
                ('next_callback', '<=', today)])

        # back to the reminders (the follow-up's and the customer's tabs
        # closed): reloaded, the next customer waits, this one is done
        for _ in range(2):
            title = active(driver).find_element(By.CSS_SELECTOR, '.title')
            # the × of the active tab, beside its title
            click(driver, driver.find_element(
                    By.CSS_SELECTOR, '#tablist li.active button.close'))
            wait.until(EC.staleness_of(title))
        wait.until(lambda d: active(d) == reminders)
        click(driver, reminders.find_element(By.CSS_SELECTOR, 'button#reload'))
        wait.until(lambda d: following in reminders.text
            and party_name not in reminders.text)
        assert no_sideways_scroll(driver)
        snapshot(driver, 'browser_mobile_next.png')
        screen_ok(driver)


def test_rep_uploads_contract_photo_on_phone(demo_url, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    from demo.loader import password_of
    rpc = RPC(demo_url, 'rep1', password_of('rep1'))
    application_id, = rpc.model('loan.application', 'search', [
            ('state', '=', 'signed'), ('party.name', '=', '吴丽华')])
    resource = f'loan.application,{application_id}'
    before = rpc.model(
        'ir.attachment', 'search_count', [('resource', '=', resource)])
    # the demo's own contract photo has its data (the served copy of the
    # demo keeps the attachment store)
    demo_photo, = rpc.model('ir.attachment', 'search_read', [
            ('resource', '=', resource), ('name', '=', '合同照片.png')],
        0, None, None, ['data_size'])
    assert demo_photo['data_size'] > 0
    photo = tmp_path / '合同照片-手机.png'
    photo.write_bytes(PHOTO)

    with mobile_browsing('browser_mobile_photo_failure.png') as driver:
        wait = mobile_login(driver, demo_url, 'rep1', password_of('rep1'))
        assert driver.execute_script('return window.innerWidth') == WIDTH
        open_record(driver, wait, 'loan.application', application_id, '吴丽华')
        # only a signed application shows the disburse button (LN-04)
        disburse = driver.find_element(
            By.XPATH, '//div[contains(@class, "tab-pane") and '
            'contains(@class, "active")]//button[normalize-space()="放款"]')
        assert disburse.is_displayed()
        snapshot(driver, 'browser_mobile_signed.png')

        # on a phone the attachment button folds into the tab's menu
        attach = driver.find_element(
            By.CSS_SELECTOR, '.tab-pane.active button#attach')
        driver.execute_script('arguments[0].click()', attach)
        upload = wait.until(lambda d: attach.find_element(
                By.XPATH, '..//li[contains(@class, "input-file")]'
                '/input[@type="file"]'))
        upload.send_keys(str(photo))
        wait.until(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, '.modal-dialog')))

        def dialog_values(d):
            # sao redraws the dialog once the file is read: look it up again
            try:
                return [i.get_attribute('value') for i in d.find_element(
                        By.CSS_SELECTOR, '.modal-dialog').find_elements(
                        By.TAG_NAME, 'input')]
            except StaleElementReferenceException:
                return []
        wait.until(lambda d: photo.name in dialog_values(d))
        snapshot(driver, 'browser_mobile_photo.png')
        ok = driver.find_element(By.CSS_SELECTOR, '.modal-dialog'
            ).find_elements(By.CSS_SELECTOR, '.modal-footer button')[-1]
        driver.execute_script('arguments[0].click()', ok)
        wait.until(lambda d: rpc.model(
                'ir.attachment', 'search_count',
                [('resource', '=', resource)]) == before + 1)
        attachment, = rpc.model('ir.attachment', 'search_read', [
                ('resource', '=', resource), ('name', '=', photo.name)],
            0, None, None, ['name', 'data_size'])
        assert attachment['data_size'] == len(PHOTO)
        screen_ok(driver)


def compact_rows(driver):
    """The sideways scroll width and visible width of the active list, and
    each of its drawn rows' height and text, once the rows are drawn"""
    import time
    for _ in range(60):
        rows = driver.execute_script(
            'var tab = document.querySelector('
            '"#tabcontent > .tab-pane.active");'
            'var s = tab.querySelector(".treeview");'
            'return [s.scrollWidth, s.clientWidth,'
            ' Array.from(s.querySelectorAll("tbody > tr"))'
            '.filter(function(r) { return r.offsetHeight; })'
            '.map(function(r) { return [r.offsetHeight, r.innerText]; })];')
        if rows[2] and all(text.strip() for _, text in rows[2]):
            break
        time.sleep(0.5)
    return rows


def test_reminders_compact_on_phone(demo_url):
    """On a phone a reminder takes a line or two (date, customer, method,
    what was said, next callback), not a screen (config/sao/custom.css);
    nothing scrolls sideways (#16)"""
    from demo.loader import password_of
    with mobile_browsing('browser_mobile_reminders_failure.png') as driver:
        mobile_login(driver, demo_url, 'rep1', password_of('rep1'))
        width, visible, records = compact_rows(driver)
        snapshot(driver, 'mobile_reminders.png')
        assert records and width <= visible, (width, visible, records)
        # a line of text is about 20 pixels: at most three lines a record
        assert all(height <= 80 for height, _ in records), records
        screen_ok(driver)


def test_customers_compact_on_phone(demo_url):
    """On a phone the rep's customers (☰ → 电话销售 → 客户) take a line or
    two each: name, stage, owner, the mobile masked, last contact and next
    callback; nothing scrolls sideways (#16)"""
    import re

    from selenium.webdriver.common.by import By

    from demo.loader import password_of
    from tests.test_browser import open_menu
    with mobile_browsing('browser_mobile_customers_failure.png') as driver:
        wait = mobile_login(driver, demo_url, 'rep1', password_of('rep1'))
        click(driver, driver.find_element(
                By.CSS_SELECTOR, '.navbar-brand[data-toggle="menu"]'))
        open_menu(driver, wait, ['电话销售', '客户'])
        width, visible, records = compact_rows(driver)
        snapshot(driver, 'mobile_customers.png')
        assert records and width <= visible, (width, visible, records)
        assert all(height <= 80 for height, _ in records), records
        text = '\n'.join(t for _, t in records)
        assert re.search(r'1\d{2}\*{4}\d{4}', text), text
        assert not re.search(r'1\d{10}', text.replace(' ', '')), text
        screen_ok(driver)
