# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The web client on a phone-sized screen (390×844, LN-09).

A demo rep logs in on a 390×844 viewport, opens a signed loan application,
sees the disburse button that only signed applications have, and uploads a
photo of the contract through the attachment menu; the attachment is then on
the application in the database. Screenshots land in ``test-artifacts/``.
"""
import base64
import json
import urllib.request

import pytest

from tests.demo_server import DB, serve_demo
from tests.test_browser import ARTIFACTS, close_browser, login, make_browser

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


class RPC:
    "Just enough JSON-RPC to check what the browser did"

    def __init__(self, url, login_, password):
        self.url = f'{url}{DB}/rpc/'
        user_id, session = self.call(
            'common.db.login', [login_, {'password': password}, 'zh_CN'])[:2]
        token = base64.b64encode(
            f'{login_}:{user_id}:{session}'.encode()).decode()
        self.headers = {'Authorization': f'Session {token}'}
        self.context = self.call('model.res.user.get_preferences', [True, {}])

    def call(self, method, params):
        request = urllib.request.Request(
            self.url, data=json.dumps(
                {'id': 1, 'method': method, 'params': params}).encode(),
            headers={'Content-Type': 'application/json',
                **getattr(self, 'headers', {})})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        if answer.get('error'):
            raise RuntimeError(answer['error'])
        return answer['result']

    def model(self, model, method, *args):
        return self.call(
            f'model.{model}.{method}', [*args, self.context])


def mobile_browser():
    driver = make_browser(WIDTH, HEIGHT)
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
            'width': WIDTH, 'height': HEIGHT, 'deviceScaleFactor': 2,
            'mobile': True})
    return driver


def mobile_login(driver, url, user, password):
    "Log in; answer the password dialog again if a slow start raced it"
    from selenium.common.exceptions import TimeoutException
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
    wait = WebDriverWait(driver, 180)
    wait.until(lambda d: '贷款中介' in d.find_element(
            By.CSS_SELECTOR, '#menu').text)
    return wait


def test_rep_uploads_contract_photo_on_phone(demo_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    from demo.loader import password_of
    rpc = RPC(demo_url, 'rep1', password_of('rep1'))
    application_id, = rpc.model('loan.application', 'search', [
            ('state', '=', 'signed'), ('party.name', '=', '吴丽华')])
    resource = f'loan.application,{application_id}'
    before = rpc.model(
        'ir.attachment', 'search_count', [('resource', '=', resource)])
    photo = tmp_path / '合同照片-手机.png'
    photo.write_bytes(PHOTO)

    driver = mobile_browser()
    try:
        wait = mobile_login(driver, demo_url, 'rep1', password_of('rep1'))
        assert driver.execute_script('return window.innerWidth') == WIDTH
        driver.execute_script(
            'window.location.hash = arguments[0]',
            f'#{DB}/model/loan.application/{application_id}')
        form = wait.until(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, '.tab-pane.active .form')))
        wait.until(lambda d: '吴丽华' in [
                i.get_attribute('value')
                for i in form.find_elements(By.TAG_NAME, 'input')])
        # only a signed application shows the disburse button (LN-04)
        disburse = driver.find_element(
            By.XPATH, '//div[contains(@class, "tab-pane") and '
            'contains(@class, "active")]//button[normalize-space()="放款"]')
        assert disburse.is_displayed()
        driver.save_screenshot(str(ARTIFACTS / 'browser_mobile_signed.png'))

        # on a phone the attachment button folds into the tab's menu
        attach = driver.find_element(
            By.CSS_SELECTOR, '.tab-pane.active button#attach')
        driver.execute_script('arguments[0].click()', attach)
        upload = wait.until(lambda d: attach.find_element(
                By.XPATH, '..//li[contains(@class, "input-file")]'
                '/input[@type="file"]'))
        upload.send_keys(str(photo))
        dialog = wait.until(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, '.modal-dialog')))
        wait.until(lambda d: photo.name in [
                i.get_attribute('value')
                for i in dialog.find_elements(By.TAG_NAME, 'input')])
        driver.save_screenshot(str(ARTIFACTS / 'browser_mobile_photo.png'))
        ok = dialog.find_elements(
            By.CSS_SELECTOR, '.modal-footer button')[-1]
        driver.execute_script('arguments[0].click()', ok)
        wait.until(lambda d: rpc.model(
                'ir.attachment', 'search_count',
                [('resource', '=', resource)]) == before + 1)
        attachment, = rpc.model('ir.attachment', 'search_read', [
                ('resource', '=', resource), ('name', '=', photo.name)],
            0, None, None, ['name', 'data_size'])
        assert attachment['data_size'] == len(PHOTO)
    except Exception:
        driver.save_screenshot(str(ARTIFACTS / 'browser_mobile_failure.png'))
        raise
    finally:
        close_browser(driver)
