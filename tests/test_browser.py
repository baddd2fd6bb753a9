# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Smoke test of the served web client in Debian's headless Chromium.

A demo rep logs in and must see the top-level menu of each of the five
modules, labelled in Simplified Chinese. A screenshot is kept in
``test-artifacts/``.
"""
import os
import shutil
import tempfile

import pytest

from conftest import ROOT
from tests.demo_server import serve_demo

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / 'test-artifacts'
CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
MODULE_MENUS = ['电话销售', '短信平台', '呼叫中心', '早教中心', '贷款中介']


@pytest.fixture(scope='module')
def demo_url():
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_demo(ARTIFACTS / 'trytond-browser.log') as url:
        yield url


def make_browser(width=1280, height=900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix='crm-chromium-')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ['--headless=new', '--no-sandbox', '--disable-gpu',
            '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', f'--user-data-dir={profile}',
            f'--window-size={width},{height}', '--lang=zh-CN']:
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=Service(CHROMEDRIVER), options=options)
    driver.crm_profile = profile
    return driver


def close_browser(driver):
    driver.quit()
    shutil.rmtree(driver.crm_profile, ignore_errors=True)


def login(driver, url, user, password, database='demo'):
    "Log in through sao's login and password dialogs"
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    wait = WebDriverWait(driver, 60)
    driver.get(f'{url}#{database}')
    field = wait.until(EC.visibility_of_element_located((By.ID, 'login')))
    # the server does not list its databases to anonymous callers, so sao
    # shows an empty database entry once its list request is refused: the
    # user types the name, as a real one does
    base = wait.until(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, 'input#database')))
    if not base.get_attribute('value'):
        base.send_keys(database)
    field.send_keys(user, Keys.ENTER)
    password_field = wait.until(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, 'input[type="password"]')))
    password_field.send_keys(password, Keys.ENTER)
    wait.until(EC.invisibility_of_element_located(
            (By.CSS_SELECTOR, 'input[type="password"]')))
    return wait


def script_errors(driver):
    "JavaScript errors the page raised (a view sao cannot draw, …)"
    return [entry['message'] for entry in driver.get_log('browser')
        if entry['source'] == 'javascript']


def test_rep_sees_module_menus_in_chinese(demo_url):
    from selenium.webdriver.common.by import By
    from demo.loader import password_of
    driver = make_browser()
    try:
        wait = login(driver, demo_url, 'rep1', password_of('rep1'))
        menu = (By.CSS_SELECTOR, '#menu')
        wait.until(lambda d: all(
                label in d.find_element(*menu).text
                for label in MODULE_MENUS))
        driver.save_screenshot(str(ARTIFACTS / 'browser_rep_menus.png'))
        text = driver.find_element(*menu).text
        missing = [label for label in MODULE_MENUS if label not in text]
        assert not missing, f'menus not shown: {missing}; menu text: {text}'
        assert not script_errors(driver)
    except Exception:
        driver.save_screenshot(str(ARTIFACTS / 'browser_rep_failure.png'))
        raise
    finally:
        close_browser(driver)
