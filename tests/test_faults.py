"""Faults (issue 14): a process killed with SIGKILL by the test while training, while writing the artifacts (also between the two
renames that swap the new run in) and while writing the submission; a run that fails half-way; a bad partition skipped."""
import hashlib, json, signal, subprocess, sys
from pathlib import Path
import pyarrow as pa
import pyarrow.parquet as pq
from test_commands import _cfg, run, cmd

CHILD = r'''
import os, sys, time
from pathlib import Path
import smadex_ltv.models.odmn, smadex_ltv.inference
from smadex_ltv.config import load_config
from smadex_ltv.pipeline import TrainingPipeline
from smadex_ltv.inference import FastPredictor
cfg, where, folder = load_config(sys.argv[1]), sys.argv[2], sys.argv[3]
def wait_here():
    "Tell the test where this process is, then wait for its SIGKILL."
    print('READY', flush=True); time.sleep(600)
def after(obj, name, n):
    "Replace obj.name by a function that stops (for the test to kill) on its call number n + 1."
    orig, calls = getattr(obj, name), []
    def f(*a, **k):
        calls.append(1)
        if len(calls) > n: wait_here()
        return orig(*a, **k)
    setattr(obj, name, f)
if where == 'training': after(smadex_ltv.models.odmn.OrderedRevenueModel, 'fit', 0)        # as stage 2 starts
if where == 'artifacts': after(smadex_ltv.models.odmn.OrderedRevenueModel, 'save', 0)      # features, stage 1 written
if where == 'swap':                                     # the old run moved aside, the new one not yet moved in
    orig = os.replace
    os.replace = lambda a, b: wait_here() if Path(b) == Path(folder) else orig(a, b)
if where == 'submission':
    after(smadex_ltv.inference, 'write_rows', 1)         # header and first chunk written
    FastPredictor(folder, engine='lightgbm').predict_test_set(cfg, chunk_size=300, workers=1, progress=False)
else: TrainingPipeline(cfg, run_name=Path(folder).name, progress=False).run()
print('not stopped', flush=True)
'''

def snapshot(folder) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob('*')) if p.is_file()}

def test_sigkill_keeps_the_previous_run_and_submission(tmp_path):
    cfg = _cfg(tmp_path, tmp_path/'raw')
    run('smadex_train', '--config', str(cfg), '--run-name', 'r', cwd=tmp_path)
    run('smadex_predict', '--config', str(cfg), '--run-name', 'r', cwd=tmp_path)
    art, sub = tmp_path/'models_dir'/'r', tmp_path/'sub'/'submission.csv'
    before, sub_before = snapshot(art), sub.read_bytes()
    for where in ('training', 'artifacts', 'swap', 'submission'):
        p = subprocess.Popen([sys.executable, '-c', CHILD, str(cfg), where, str(art)], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        seen = []
        for line in p.stdout:                                            # until the child has reached the point
            if line.strip() == 'READY': break
            seen.append(line)
        else: raise AssertionError(f'{where}: the child ended without reaching the point: {seen[-5:]}')
        p.send_signal(signal.SIGKILL); p.wait(timeout=60)                # killed from here, mid-write
        assert p.returncode == -9, (where, p.returncode)
        if where == 'swap': assert not art.exists()                      # the moment the kill hit: the run folder was moved aside
        text = run('smadex_predict', '--config', str(cfg), '--run-name', 'r', '--out', str(tmp_path/f'{where}.csv'), cwd=tmp_path)
        assert snapshot(art) == before, where                            # the previous run, intact and loadable (restored after 'swap')
        assert (tmp_path/f'{where}.csv').read_bytes() == sub_before, where
        assert sub.read_bytes() == sub_before, where                     # the previous submission untouched
        if where == 'swap': assert 'restored' in text
    # the next run starts clean: it completes, and nothing of the killed writers is left beside it
    run('smadex_train', '--config', str(cfg), '--run-name', 'r', cwd=tmp_path)
    run('smadex_predict', '--config', str(cfg), '--run-name', 'r', cwd=tmp_path)
    assert sorted(p.name for p in (tmp_path/'models_dir').iterdir()) == ['r']
    assert sorted(p.name for p in (tmp_path/'sub').iterdir()) == ['.submission.csv.smadex_ltv', 'submission.csv']   # and its record
    assert set(json.loads((art/'manifest.json').read_text())['files']) | {'manifest.json'} == set(snapshot(art))
    assert sub.read_bytes() == sub_before                                # same config and seed: the same submission

def _damage(raw: Path, hour: str = '2025-10-01-02-00'):
    "Partition `hour` of the train split gets a column of the wrong type."
    f = next((raw/'train'/'train'/f'datetime={hour}').glob('*.parquet'))
    t = pq.read_table(f)
    i = t.schema.get_field_index('weekday')
    pq.write_table(t.set_column(i, 'weekday', pa.array([str(v) for v in t['weekday'].to_pylist()])), f)
    return f

def test_a_failed_run_says_where_and_why_and_skip_lists_the_partition(tmp_path):
    raw = tmp_path/'raw'
    run('smadex_synth', '--preset', 'tiny', '--out', str(raw), '--seed', '7', '--train-hours', '6')
    bad = _damage(raw)
    cfg = _cfg(tmp_path, raw)
    r = subprocess.run([cmd('smadex_train'), '--config', str(cfg), '--run-name', 'r'], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and str(bad) in r.stderr and "'weekday'" in r.stderr, r.stderr[-1000:]
    last = (tmp_path/'logs_dir'/'train_r.log').read_text().strip().splitlines()[-1]
    assert 'FAILED in step prepare_data' in last and 'SchemaError' in last, last
    assert not (tmp_path/'models_dir'/'r').exists()
    # with data.on_bad_partition: skip, the partition is left out, logged and listed in the report
    text = run('smadex_train', '--config', str(cfg), '--run-name', 'r', '--set', 'data.on_bad_partition=skip', cwd=tmp_path)
    assert 'skipped partition train/2025-10-01-02-00' in text
    rep = json.loads((tmp_path/'reports_dir'/'r.json').read_text())
    assert list(rep['data']['skipped_partitions']) == ['train/2025-10-01-02-00']
    assert "column 'weekday' has type string" in rep['data']['skipped_partitions']['train/2025-10-01-02-00']
