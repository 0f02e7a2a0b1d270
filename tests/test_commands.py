"""End-to-end checks of the installed console commands, run as a user would, in a temporary folder."""
import json, subprocess, sys
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent          # the venv's bin: commands work without activating it

def cmd(name): return str(BIN/name) if (BIN/name).exists() else name

def run(*args, cwd=None):
    r = subprocess.run([cmd(args[0]), *args[1:]], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert r.returncode == 0, f'{args} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}'
    return r.stdout + r.stderr

@pytest.mark.parametrize('name', ['smadex_synth', 'smadex_run', 'smadex_train', 'smadex_predict', 'smadex_evaluate',
                                  'smadex_validate', 'smadex_compare', 'smadex_submit', 'smadex_bench', 'smadex_dashboard'])
def test_help(name):
    assert 'usage' in run(name, '--help').lower()

def _cfg(tmp_path, raw, seed=None):
    "A config based on `test` that writes everything under tmp_path."
    cfg = tmp_path/'cfg.yaml'
    lines = ['base: test'] + ([f'seed: {seed}'] if seed is not None else [])
    lines += ['data:', f'  raw_dir: {raw}', '  synth_preset: tiny']          # generated there when the folder is empty
    lines += [f'  {k}: {tmp_path/k}' for k in ('models_dir', 'logs_dir', 'reports_dir', 'processed_dir')]
    lines += ['inference:', f'  output: {tmp_path/"sub"/"submission.csv"}']
    cfg.write_text('\n'.join(lines) + '\n')
    return cfg

def test_set_overrides(tmp_path):
    "Every command takes --set key=value; a wrong key is refused with the nearest valid one, exit status 2."
    for name in ('smadex_run', 'smadex_train', 'smadex_predict', 'smadex_evaluate', 'smadex_validate', 'smadex_submit', 'smadex_dashboard'):
        r = subprocess.run([cmd(name), '--config', 'test', '--set', 'training.sampling.fraq=0.5'], capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert r.returncode == 2 and "did you mean 'training.sampling.frac'" in r.stderr, (name, r.returncode, r.stderr[-500:])

def test_synth_train_predict_submit(tmp_path):
    "The path a user takes: generate, train, predict, check the submission, evaluate, look at the reports."
    out = tmp_path/'raw'
    run('smadex_synth', '--preset', 'tiny', '--out', str(out), '--seed', '3', '--train-hours', '6')
    man = json.loads((out/'_SYNTH.json').read_text())
    parts = sorted((out/'train'/'train').glob('datetime=*/part-00000-*.c000.snappy.parquet'))
    assert len(parts) == man['train_hours'] == 6
    cfg = _cfg(tmp_path, out, seed=3)
    text = run('smadex_train', '--config', str(cfg), '--run-name', 'first', '--n-jobs', '1', cwd=tmp_path)
    assert 'generating' not in text and 'oracle' in text                          # the data was there: nothing generated
    art = tmp_path/'models_dir'/'first'
    files = json.loads((art/'manifest.json').read_text())['files']
    assert {'buyer_classifier.txt', 'odmn_revenue_d7.txt', 'stacking.json', 'features_state.json'} <= set(files)
    assert (tmp_path/'logs_dir'/'train_first.log').stat().st_size > 0
    rep = json.loads((tmp_path/'reports_dir'/'first.json').read_text())
    assert rep['data']['train']['rows'] + rep['data']['val']['rows'] == man['rows_train']
    text = run('smadex_predict', '--config', str(cfg), '--run-name', 'first', '--chunk-size', '300', cwd=tmp_path)
    assert 'submission check: ok' in text and 'single-row latency' in text
    sub = (tmp_path/'sub'/'submission.csv').read_text().splitlines()
    assert sub[0] == 'row_id,iap_revenue_d7' and len(sub) == man['rows_test'] + 1
    subf = tmp_path/'sub'/'submission.csv'
    lines = subf.read_text().splitlines(); subf.write_text('\n'.join([lines[0]] + lines[1:][::-1]) + '\n')   # reversed rows
    before = subf.read_bytes()
    assert 'not in its order' in run('smadex_submit', '--config', str(cfg), '--dry-run', '--align-order', cwd=tmp_path)
    assert subf.read_bytes() == before                                             # a dry run writes nothing
    assert 'rewritten in its order' in run('smadex_submit', '--config', str(cfg), '--align-order', cwd=tmp_path)
    sample = (out/'sample_submission.csv').read_text().splitlines()
    assert [l.split(',')[0] for l in (tmp_path/'sub'/'submission.csv').read_text().splitlines()] == [l.split(',')[0] for l in sample]
    ev = run('smadex_evaluate', '--config', str(cfg), '--run-name', 'first', '--split', 'val', '--json-out', str(tmp_path/'e.json'), cwd=tmp_path)
    assert 'rmsle' in ev
    assert abs(json.loads((tmp_path/'e.json').read_text())['system']['rmsle'] - rep['pipeline']['val']['rmsle']) < 1e-9
    assert 'Stage 1' in run('smadex_validate', '--config', str(cfg), '--run-name', 'first', cwd=tmp_path)
    assert 'RMSLE' in run('smadex_compare', 'first', str(tmp_path/'reports_dir'/'first.json'), '--config', str(cfg), cwd=tmp_path)
    # the same config and seed, trained again under another name: byte-identical submission (and the first run kept)
    run('smadex_train', '--config', str(cfg), '--run-name', 'again', '--n-jobs', '1', cwd=tmp_path)
    for r in ('first', 'again'):
        run('smadex_predict', '--config', str(cfg), '--run-name', r, '--out', str(tmp_path/f'{r}.csv'), cwd=tmp_path)
    assert (tmp_path/'first.csv').read_bytes() == (tmp_path/'again.csv').read_bytes()
    # a broken submission fails the check with the reason and a non-zero exit
    lines = (tmp_path/'sub'/'submission.csv').read_text().splitlines()
    (tmp_path/'sub'/'submission.csv').write_text('\n'.join(lines[:-3]) + '\n')
    r = subprocess.run([cmd('smadex_submit'), '--config', str(cfg)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and 'missing' in r.stdout
    # a tampered artifact is refused
    with open(art/'stacking.json', 'ab') as fh: fh.write(b'0')
    r = subprocess.run([cmd('smadex_predict'), '--config', str(cfg), '--run-name', 'first'], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and 'refusing to load: stacking.json' in r.stderr

def test_run_generates_into_empty_folder(tmp_path):
    "The README's main command on an empty data folder: generated, trained, predicted, checked."
    cfg = _cfg(tmp_path, tmp_path/'fresh')
    text = run('smadex_run', '--config', str(cfg), cwd=tmp_path)
    assert 'generating the synthetic' in text and (tmp_path/'fresh'/'_SYNTH.json').exists()
    assert 'passes the check' in text and 'oracle (the limit)' in text
    assert '%|' not in text                  # `test` sets inference.show_progress false: no progress bar anywhere

def test_bad_config_is_a_clear_error(tmp_path):
    cfg = tmp_path/'cfg.yaml'
    cfg.write_text('training:\n  n_fold: 3\n')
    r = subprocess.run([cmd('smadex_run'), '--config', str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0 and "did you mean 'training.n_folds'" in r.stderr

def test_run_on_an_existing_dask_cluster(tmp_path):
    "README's cluster line: a scheduler and two workers started with Dask's own commands, then `smadex_run --scheduler`."
    import time
    sf = tmp_path/'scheduler.json'
    procs = [subprocess.Popen([cmd('dask'), 'scheduler', '--scheduler-file', str(sf), '--port', '0', '--dashboard-address', ':0'],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(600):
            if sf.exists() and sf.stat().st_size: break
            time.sleep(0.1)
        procs += [subprocess.Popen([cmd('dask'), 'worker', '--scheduler-file', str(sf), '--nthreads', '1', '--no-dashboard'],
                                   cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        addr = json.loads(sf.read_text())['address']
        cfg = _cfg(tmp_path, tmp_path/'raw')
        text = run('smadex_run', '--config', str(cfg), '--scheduler', addr, cwd=tmp_path)
        assert 'passes the check' in text and 'oracle (the limit)' in text
        log = next((tmp_path/'logs_dir').glob('train_*.log')).read_text()
        assert 'lightgbm.dask on 2 workers' in log and 'partitions featurised on 2 workers' in log
        text = run('smadex_predict', '--config', str(cfg), '--scheduler', addr, '--out', str(tmp_path/'again.csv'), cwd=tmp_path)
        assert 'submission check: ok' in text
        assert (tmp_path/'again.csv').read_bytes() == (tmp_path/'sub'/'submission.csv').read_bytes()
    finally:
        for p in procs: p.terminate()
        for p in procs: p.wait(timeout=30)

def test_repeated_set_keeps_every_value(tmp_path):
    "`--set a --set b`: both count (argparse alone would keep the last, silently training on the default data)."
    r = subprocess.run([cmd('smadex_train'), '--config', 'test', '--set', f'data.raw_dir={tmp_path/"nowhere"}',
                        '--set', 'seed=3'], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and 'nowhere' in r.stderr, (r.returncode, r.stderr[-500:])
