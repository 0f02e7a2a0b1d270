"""The dashboard as a user meets it: `smadex_dashboard` serves the app on localhost and headless Chromium renders it."""
import base64, json, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent
SHOT = Path(__file__).parent/'out'/'dashboard.png'  # the last rendered page (git-ignored: a test run changes no tracked file)
pytest.importorskip('streamlit', reason='the dashboard extra is not installed: pip install -e ".[dashboard]"')

def browser():
    "A Chromium-family browser on PATH, or None."
    return next((p for p in map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome')) if p), None)

def free_port() -> int:
    with socket.socket() as s: s.bind(('localhost', 0)); return s.getsockname()[1]

def wait_http(url: str, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200: return True
        except OSError: time.sleep(0.5)
    return False

class Browser:
    "Headless Chromium driven over the DevTools protocol (a websocket): open a page, read its text, take a screenshot."
    def __init__(self, timeout: float = 60):
        from websockets.sync.client import connect
        self.port = free_port()
        self.proc = subprocess.Popen([browser(), '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                                      f'--remote-debugging-port={self.port}', '--window-size=1400,2400', 'about:blank'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_http(f'http://localhost:{self.port}/json/version', timeout), 'Chromium did not start'
        with urllib.request.urlopen(f'http://localhost:{self.port}/json') as r:
            page = next(t for t in json.load(r) if t['type'] == 'page')
        self.ws, self.n = connect(page['webSocketDebuggerUrl'], max_size=2**26), 0

    def call(self, method: str, **params) -> dict:
        self.n += 1; self.ws.send(json.dumps({'id': self.n, 'method': method, 'params': params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get('id') == self.n: return m.get('result', {})

    def text(self) -> str:
        return self.call('Runtime.evaluate', expression='document.body ? document.body.innerText : ""', returnByValue=True)['result'].get('value', '')

    def wait_for(self, needle: str, timeout: float) -> str:
        "The page text once it contains `needle` (or when `timeout` runs out)."
        end = time.time() + timeout
        while time.time() < end and needle not in (t := self.text()): time.sleep(1)
        return self.text()

    def screenshot(self, path: Path):
        path.write_bytes(base64.b64decode(self.call('Page.captureScreenshot', format='png')['data']))

    def close(self):
        try: self.ws.close()
        finally:
            self.proc.terminate()
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: self.proc.kill()

@pytest.mark.filterwarnings('ignore:connect\\(\\) must be used as a context manager')
def test_dashboard_in_a_browser(tmp_path):
    if browser() is None: pytest.skip('no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it where it can)')
    cfg = tmp_path/'cfg.yaml'
    cfg.write_text('\n'.join(['base: test', 'data:', f'  raw_dir: {tmp_path/"raw"}', '  synth_preset: tiny'] +
                             [f'  {k}: {tmp_path/k}' for k in ('models_dir', 'logs_dir', 'reports_dir', 'processed_dir')]) + '\n')
    r = subprocess.run([str(BIN/'smadex_train'), '--config', str(cfg), '--n-jobs', '1'], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    port = free_port()
    srv = subprocess.Popen([str(BIN/'smadex_dashboard'), '--config', str(cfg), '--port', str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_http(f'http://localhost:{port}/_stcore/health', 90), 'the dashboard did not come up within 90 s'
        b = Browser()
        try:
            b.call('Page.navigate', url=f'http://localhost:{port}/')
            text = b.wait_for('Row of the slice', 180)           # the last widget of the page: everything above it rendered
            time.sleep(4)                                        # the last table (drawn on a canvas) and the images settle
            shot = SHOT; shot.parent.mkdir(exist_ok=True); b.screenshot(shot)   # what the page looked like
        finally: b.close()
        assert 'Smadex LTV: revenue d7 forecasts' in text, text[-3000:]
        for t in ('Headline', 'oracle', 'constant', 'By country', 'Feature importance (gain), stages 1-3', 'One row explained',
                  'held-out validation rows of cfg', 'Download these predictions (CSV)', 'Compare with', 'About the run'):
            assert t in text, t
        assert 'Traceback' not in text and 'Error' not in text
        assert 'Deploy' not in text                              # client.toolbarMode viewer: no Deploy button for an analyst
        assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    finally:
        srv.terminate()
        try: srv.wait(20)
        except subprocess.TimeoutExpired: srv.kill()
    assert srv.returncode is not None
    time.sleep(1)
    assert not wait_http(f'http://localhost:{port}/_stcore/health', 2), 'the server is still up after the command was stopped'
