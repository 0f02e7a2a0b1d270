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

@pytest.mark.parametrize('name', ['smadex_synth', 'smadex_run'])
def test_help(name):
    assert 'usage' in run(name, '--help').lower()

def test_synth_then_run(tmp_path):
    out = tmp_path/'raw'
    run('smadex_synth', '--preset', 'tiny', '--out', str(out), '--seed', '3', '--train-hours', '6')
    man = json.loads((out/'_SYNTH.json').read_text())
    parts = sorted((out/'train'/'train').glob('datetime=*/part-00000-*.c000.snappy.parquet'))
    assert len(parts) == man['train_hours'] == 6
    assert len((out/'sample_submission.csv').read_text().splitlines()) == man['rows_test'] + 1
    cfg = tmp_path/'cfg.yaml'
    cfg.write_text(f'base: test\nseed: 3\ndata:\n  raw_dir: {out}\n')
    text = run('smadex_run', '--config', str(cfg), '--json-out', str(tmp_path/'s.json'), cwd=tmp_path)
    assert 'validation RMSLE' in text and 'generating' not in text        # the data was there: nothing generated
    s = json.loads((tmp_path/'s.json').read_text())
    assert s['train']['rows'] + s['val']['rows'] == man['rows_train']

def test_run_generates_into_empty_folder(tmp_path):
    cfg = tmp_path/'cfg.yaml'
    cfg.write_text(f'base: test\ndata:\n  raw_dir: {tmp_path/"fresh"}\n')
    text = run('smadex_run', '--config', str(cfg), cwd=tmp_path)
    assert 'generating the synthetic' in text and (tmp_path/'fresh'/'_SYNTH.json').exists()

def test_bad_config_is_a_clear_error(tmp_path):
    cfg = tmp_path/'cfg.yaml'
    cfg.write_text('training:\n  n_fold: 3\n')
    r = subprocess.run([cmd('smadex_run'), '--config', str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0 and "did you mean 'training.n_folds'" in r.stderr
