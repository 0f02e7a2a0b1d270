"""The shape of the house, checked on the files (no import, no run): imports point one way, names used across modules
are public, notebooks read as chapters (one exported definition per cell, followed by a sentence and an example),
no code cell over 60 lines, library lines within 120 characters and no `;` joining statements, and notebooks that
cite nothing outside the repository."""
import ast, io, json, re, tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB, NBS = ROOT/'smadex_ltv', ROOT/'nbs'
MAGIC = re.compile(r'^\s*[%!].*$', re.M)


def modules() -> dict:
    "{dotted module name: parsed AST} of every library module but nbdev's index."
    out = {}
    for f in sorted(LIB.rglob('*.py')):
        if f.name == '_modidx.py': continue
        name = '.'.join(f.relative_to(ROOT).with_suffix('').parts).removesuffix('.__init__')
        out[name] = ast.parse(f.read_text())
    return out


def imports(mods: dict) -> list[tuple[str, str, list[str]]]:
    "(importer, imported module, names) for every `from ... import` between library modules, nested ones included."
    out = []
    for m, tree in mods.items():
        pkg = m.split('.')
        for n in ast.walk(tree):
            if not isinstance(n, ast.ImportFrom): continue
            if n.level:
                base = '.'.join(pkg[:len(pkg) - n.level])
                tgt = f'{base}.{n.module}' if n.module else base
            else: tgt = n.module or ''
            if tgt in mods and tgt != m: out.append((m, tgt, [a.name for a in n.names]))
    return out


def cycles(edges: dict) -> list[list[str]]:
    "The strongly connected components of more than one module (Tarjan)."
    idx, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        idx[v] = low[v] = len(idx)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in idx:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v: break
            if len(comp) > 1: comps.append(sorted(comp))

    for v in list(edges):
        if v not in idx: visit(v)
    return comps


def test_cycles_finds_a_cycle():
    "The checker itself: a two-module loop is found, a chain is not."
    assert cycles({'a': {'b'}, 'b': {'a'}, 'c': set()}) == [['a', 'b']]
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': set()}) == []


def test_no_import_cycle():
    mods = modules()
    edges = {m: set() for m in mods}
    for a, b, _ in imports(mods): edges[a].add(b)
    assert cycles(edges) == [], 'modules import each other in a loop'


def test_no_private_name_across_modules():
    bad = [f'{a} imports {b}.{n}' for a, b, names in imports(modules()) for n in names
           if n.startswith('_') and not n.startswith('__')]
    assert not bad, bad


def cells():
    "(notebook name, index, cell) for every cell of every notebook."
    for nb in sorted(NBS.glob('*.ipynb')):
        for i, c in enumerate(json.loads(nb.read_text())['cells']): yield nb.name, i, c


def test_no_code_cell_over_60_lines():
    long = [(nb, i, len(''.join(c['source']).splitlines())) for nb, i, c in cells()
            if c['cell_type'] == 'code' and len(''.join(c['source']).splitlines()) > 60]
    assert not long, long


def definitions(src: str) -> list[str]:
    "Top-level functions and classes of a cell's source (IPython magics ignored)."
    try: body = ast.parse(MAGIC.sub('', src)).body
    except SyntaxError: return []
    return [x.name for x in body if isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def test_definitions_read_as_a_chapter():
    "At least 75% of exported definitions sit alone in their cell, followed (within 3 cells) by prose and an example."
    total = followed = 0
    for nb in sorted(NBS.glob('*.ipynb')):
        cs = json.loads(nb.read_text())['cells']
        for i, c in enumerate(cs):
            src = ''.join(c['source'])
            if c['cell_type'] != 'code' or not re.search(r'^#\|\s*export', src, re.M): continue
            names = definitions(src)
            total += len(names)
            nxt = cs[i + 1:i + 4]
            prose = any(x['cell_type'] == 'markdown' and len(''.join(x['source']).split()) >= 5 for x in nxt)
            example = any(x['cell_type'] == 'code' and not re.search(r'^#\|\s*(export|hide)', ''.join(x['source']), re.M)
                          for x in nxt)
            followed += len(names) == 1 and prose and example
    assert total > 100 and followed / total >= 0.75, f'{followed} of {total} definitions followed'


def semicolons(src: str) -> int:
    return sum(t.type == tokenize.OP and t.string == ';' for t in tokenize.generate_tokens(io.StringIO(src).readline))


def test_library_lines_and_statements():
    "Under 1% of library lines over 120 characters; no `;` joining two statements."
    lines, wide, semi = 0, 0, []
    for f in sorted(LIB.rglob('*.py')):
        if f.name == '_modidx.py': continue
        text = f.read_text()
        ls = text.splitlines()
        lines += len(ls)
        wide += sum(len(x) > 120 for x in ls)
        if semicolons(text): semi.append(f.name)
    assert wide / lines < 0.01, f'{wide} of {lines} lines over 120 characters'
    assert not semi, f'`;` joins statements in {semi}'


def test_semicolon_counter():
    test_src = "a = 1; b = 2\ns = 'x;y'\n"
    assert semicolons(test_src) == 1


def test_notebooks_cite_nothing_outside_the_repository():
    pat = re.compile(r'\bissue #?\d+|METHODS\.md|SCHEMA\.md|DESIGN\.md|\.\./shared|\bcommit [0-9a-f]{7,40}\b', re.I)
    bad = [(nb, i) for nb, i, c in cells() if c['cell_type'] == 'markdown' and pat.search(''.join(c['source']))]
    assert not bad, bad
