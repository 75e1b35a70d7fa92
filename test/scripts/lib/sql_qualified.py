#!/usr/bin/env python3
"""test/scripts/lib/sql_qualified.py: fail on an unqualified name in the SQL
that convexlite's C code runs.

    python3 test/scripts/lib/sql_qualified.py [-v] FILE.c...

Every statement convexlite runs is written with schema-qualified names
(convex.x, pg_catalog.x, OPERATOR(pg_catalog.=)), so that what it runs does
not depend on the caller's search_path even without the pinned path of
src/plans.c.  This finds the SQL text in the C sources and reports every
reference that a search_path could redirect.

Finding the SQL.  The string literals of each file (adjacent literals and
string-literal macros merged, comments dropped) form units:
  * the format strings appended to one StringInfo in one function
    (appendStringInfo*, from initStringInfo/resetStringInfo on) are one unit,
    in source order;
  * every other literal group (an argument of cvx_execute_once,
    cvx_execute_args, cvx_prepare, cvx_kept_plan, run, psprintf, SPI_*, an
    array element, a macro body, ...) is a unit of its own.
A unit is SQL when it is passed to an SPI helper or contains an upper-case
SQL keyword (SELECT, INSERT INTO, UPDATE, DELETE FROM, CREATE, ALTER, DROP,
REVOKE, GRANT, RETURNING, WHERE, VALUES, ORDER BY, LIMIT, OPERATOR( ...);
literals given to errmsg, elog and the other message functions are prose.
Format directives (%s, %d, %.*s) stand for text built at run time (quoted
with quote_identifier, or CVX_SCHEMA) and are accepted wherever a name is.

What is reported, in SQL outside string constants and quoted identifiers:
  * an operator (=, <, ->>, ||, @>, ...) not written OPERATOR(schema.op)
    (a '*' in a select list or count(*), and '=' assigning a column in
    SET are no operators);
  * LIKE, ILIKE, SIMILAR TO, BETWEEN, IN, IS DISTINCT FROM and a simple
    CASE x WHEN (they look up '=' / '~~' / '<=' through the search_path);
  * a function call whose name is not qualified (keywords such as EXISTS,
    ANY, ARRAY, VALUES, COALESCE are grammar, not functions);
  * a type after '::', AS in CAST, in a column definition or COLLATE, not
    qualified;
  * a relation after FROM, JOIN, INTO, UPDATE, TABLE, DROP INDEX, the ON of
    CREATE INDEX, REFERENCES, USING, or in a FROM list, not qualified (a
    WITH query's name is fine);
  * a string constant cast to, or given to, a function taking a relation
    name (nextval, ::regclass, ...) that has no schema;
  * the text a function with "sql" in its name returns (column_sql_type):
    it is a type, and must be qualified.
Exit status 1 if anything was reported (one line per finding:
FILE:LINE: what), 0 otherwise; -v also prints every SQL unit checked.

    python3 test/scripts/lib/sql_qualified.py --self-test MUTANTS.txt

plants each mutant of the list (FILE, TEXT, REPLACEMENT, EXPECTED REPORT,
tab-separated) in memory, one at a time, and prints PASS when the checker
reports it, FAIL otherwise (also when TEXT is no longer in FILE).
"""
import re
import sys

MESSAGE_FUNCS = {
    'errmsg', 'errmsg_internal', 'errmsg_plural', 'errdetail', 'errdetail_internal', 'errdetail_log',
    'errhint', 'errcontext', 'elog', 'ereport', 'ereport_domain', 'cvx_raise_convex_error',
    'cvx_raise_validation_error', 'cvx_raise_missing_document', 'refuse_upload_url',
}
SQL_RUNNERS = {
    'cvx_execute_once', 'cvx_execute_args', 'cvx_prepare', 'cvx_kept_plan', 'kept_write_plan', 'run',
    'SPI_execute', 'SPI_exec', 'SPI_prepare', 'SPI_execute_with_args', 'SPI_prepare_params',
    'SPI_cursor_open_with_args',
}
APPENDERS = {'appendStringInfo', 'appendStringInfoString'}
SQL_MARKER = re.compile(
    r'\b(SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE|ALTER|DROP|REVOKE|GRANT|TRUNCATE|LOCK\s+TABLE|'
    r'RETURNING|WHERE|VALUES|ORDER\s+BY|LIMIT|FOR\s+UPDATE)\b|\bOPERATOR\s*\(')


# ---------------------------------------------------------------------------
# C side: the literals and how they are used

def strip_comments(src):
    """Drop C comments (keeping newlines), leaving literals alone."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('/*', i):
            j = src.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append('\n' * src.count('\n', i, j))
            i = j
        elif src.startswith('//', i):
            j = src.find('\n', i)
            i = n if j < 0 else j
        elif c in '"\'':
            j = i + 1
            while j < n and src[j] != c and src[j] != '\n':
                j += 2 if src[j] == '\\' else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


C_TOKEN = re.compile(r'''
    (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<chr>'(?:[^'\\\n]|\\.)*')
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>[0-9][A-Za-z0-9_.]*)
  | (?P<nl>\n)
  | (?P<ws>[ \t\r\f\v]+|\\\n)
  | (?P<punct>->|\+\+|--|&&|\|\||<<|>>|[<>=!]=|.)
''', re.X | re.S)

C_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '"': '"', "'": "'", '\\': '\\', '?': '?'}


def c_unescape(lit):
    return re.sub(r'\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)',
                  lambda m: C_ESCAPES.get(m.group(1), ' '), lit[1:-1])


def c_tokens(src):
    line = 1
    for m in C_TOKEN.finditer(src):
        kind = m.lastgroup
        text = m.group()
        if kind not in ('nl', 'ws'):
            yield kind, text, line
        line += text.count('\n')


def units_of(path, source=None):
    """Yield (line, text, is_sql_for_sure) for each unit of a C file (or of
    source, its text)."""
    if source is None:
        source = open(path, encoding='utf-8').read()
    src = strip_comments(source)
    macros = {}
    for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+'
                         r'((?:"(?:[^"\\\n]|\\.)*"[ \t]*(?:\\\n[ \t]*)?)+)$', src, re.M):
        macros[m.group(1)] = ''.join(c_unescape(s) for s in re.findall(r'"(?:[^"\\\n]|\\.)*"', m.group(2)))
        yield src.count('\n', 0, m.start()) + 1, macros[m.group(1)], False
    # preprocessor lines out (keeping line numbers)
    body = re.sub(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', lambda m: '\n' * m.group().count('\n'), src, flags=re.M)
    toks = list(c_tokens(body))

    def is_lit(j):
        return toks[j][0] == 'str' or (toks[j][0] == 'id' and toks[j][1] in macros and (
            (j + 1 < len(toks) and toks[j + 1][0] == 'str') or (j > 0 and toks[j - 1][0] == 'str')))

    def call_context(i):
        """(callee, argument index, first-argument text) of the call whose argument list holds token i."""
        depth, argno = 0, 0
        for b in range(i - 1, -1, -1):
            v = toks[b][1]
            if v in (')', ']'):
                depth += 1
            elif v in ('(', '['):
                if depth == 0:
                    if v == '(' and b > 0 and toks[b - 1][0] == 'id':
                        first, d2, k = [], 0, b + 1
                        while k < len(toks):
                            w = toks[k][1]
                            if w in ('(', '['):
                                d2 += 1
                            elif w in (')', ']'):
                                if d2 == 0:
                                    break
                                d2 -= 1
                            elif w == ',' and d2 == 0:
                                break
                            first.append(w)
                            k += 1
                        return toks[b - 1][1], argno, ''.join(first)
                    return '', argno, ''
                depth -= 1
            elif v == ',' and depth == 0:
                argno += 1
            elif v in (';', '{', '}') and depth == 0:
                return '', argno, ''
        return '', argno, ''

    buffers = {}        # (function number, buffer expression) -> [line, [texts]]
    order = []
    func_no, brace = 0, 0
    func_name = ''
    i = 0
    while i < len(toks):
        kind, v, line = toks[i]
        if v == '{':
            if brace == 0:
                # the function's name: the identifier before the parameter list
                b, d = i - 1, 0
                while b > 0:
                    if toks[b][1] == ')':
                        d += 1
                    elif toks[b][1] == '(':
                        d -= 1
                        if d == 0:
                            break
                    b -= 1
                func_name = toks[b - 1][1] if b > 0 else ''
            brace += 1
        elif v == '}':
            brace -= 1
            if brace == 0:
                func_no += 1
        elif kind == 'id' and v in ('initStringInfo', 'resetStringInfo') and i + 1 < len(toks) and toks[i + 1][1] == '(':
            k, arg = i + 2, []
            while k < len(toks) and toks[k][1] != ')':
                arg.append(toks[k][1])
                k += 1
            key = (func_no, ''.join(arg).lstrip('&'))
            if key in buffers:
                order.append(buffers.pop(key))
        elif is_lit(i):
            parts, j = [], i
            while j < len(toks) and is_lit(j):
                parts.append(c_unescape(toks[j][1]) if toks[j][0] == 'str' else macros[toks[j][1]])
                j += 1
            text = ''.join(parts)
            callee, argno, first = call_context(i)
            if callee in MESSAGE_FUNCS:
                pass
            elif 'sql' in func_name.lower() and toks[i - 1][1] == 'return':
                # a function returning SQL text (column_sql_type): a type
                order.append([line, ['SELECT NULL::' + text], True])
            elif callee in APPENDERS and argno == 1:
                key = (func_no, first.lstrip('&'))
                buffers.setdefault(key, [line, []])[1].append(text)
            else:
                order.append([line, [text], callee in SQL_RUNNERS])
            i = j
            continue
        i += 1
    order.extend(buffers.values())
    for u in order:
        yield u[0], ' '.join(u[1]), (u[2] if len(u) > 2 else False)


# ---------------------------------------------------------------------------
# SQL side: the references in one unit

SQL_TOKEN = re.compile(r'''
    (?P<ws>\s+)
  | (?P<str>[EeBbXx]?'(?:[^']|'')*'?)
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<param>\$(?:\d+|%d))
  | (?P<ph>%(?:\.\*)?[-0-9]*(?:s|d|ld|lu|u|f|g|ll?d|zu))
  | (?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<cast>::)
  | (?P<op>[-+*/<>=~!@#%^&|`?]+)
  | (?P<p>[().,;\[\]:])
''', re.X | re.S)

# Words that are grammar, not a function when followed by '('.
NOT_FUNCTIONS = {
    'ALL', 'AND', 'ANY', 'ARRAY', 'AS', 'BY', 'CASE', 'CAST', 'CHECK', 'COALESCE', 'CONFLICT', 'CONSTRAINT',
    'DISTINCT', 'DO', 'ELSE', 'END', 'EXISTS', 'EXTRACT', 'FILTER', 'FROM', 'GREATEST', 'GROUPING', 'IN',
    'INTO', 'IS', 'KEY', 'LATERAL', 'LEAST', 'NOT', 'NULLIF', 'ON', 'OPERATOR', 'OR', 'OVER', 'PRIMARY',
    'RETURNING', 'ROW', 'SELECT', 'SET', 'SOME', 'THEN', 'UNIQUE', 'USING', 'VALUES', 'WHEN', 'WHERE',
    'WITH', 'INCLUDE', 'OF', 'ORDER', 'LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'JOIN', 'TABLE',
    'UPDATE', 'DELETE', 'INSERT', 'RECURSIVE', 'MATERIALIZED', 'LOCKED', 'SKIP', 'NOWAIT', 'ONLY',
}
# Keywords that end a FROM list (at its depth)
CLAUSE_ENDS = {
    'WHERE', 'GROUP', 'ORDER', 'LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'RETURNING', 'FOR',
    'ON', 'USING', 'HAVING', 'WINDOW', 'SET', 'VALUES', 'SELECT', 'DO', 'FETCH',
}
RELATION_WORDS = {'FROM', 'JOIN', 'INTO', 'TABLE', 'REFERENCES', 'TRUNCATE'}
RELNAME_FUNCS = {'nextval', 'currval', 'setval', 'to_regclass', 'pg_relation_size', 'to_regproc',
                 'to_regprocedure', 'to_regtype', 'to_regoper', 'to_regoperator', 'has_table_privilege'}
REG_TYPES = {'regclass', 'regproc', 'regprocedure', 'regtype', 'regoper', 'regoperator', 'regnamespace'}


def sql_tokens(text):
    out = []
    for m in SQL_TOKEN.finditer(text):
        k = m.lastgroup
        if k == 'ws':
            continue
        v = m.group()
        if k == 'id':
            out.append(('kw' if v.upper() == v and v.upper() in KEYWORDS else 'id', v))
        else:
            out.append((k, v))
    return out


KEYWORDS = NOT_FUNCTIONS | CLAUSE_ENDS | RELATION_WORDS | {
    'NULL', 'TRUE', 'FALSE', 'DESC', 'ASC', 'NULLS', 'FIRST', 'LAST', 'LIKE', 'ILIKE', 'SIMILAR', 'BETWEEN',
    'DISTINCT', 'COLLATE', 'PUBLIC', 'REVOKE', 'GRANT', 'CREATE', 'ALTER', 'DROP', 'INDEX', 'COLUMN', 'ADD',
    'HAVING', 'GROUP', 'EXCLUDED', 'NOTHING', 'SHARE', 'NO', 'KEY', 'DEFAULT', 'IF', 'ONLY', 'CASCADE',
}


def qualified_name_at(toks, i):
    """Is the name starting at toks[i] schema-qualified (or built at run time)?
    Returns (ok, index after the name, the name as written)."""
    if i >= len(toks):
        return True, i, ''
    k, v = toks[i]
    if k == 'ph':
        # %s.%s or a placeholder alone (a quoted identifier built at run time)
        j = i + 1
        if j + 1 < len(toks) and toks[j][1] == '.' and toks[j + 1][0] in ('id', 'qid', 'ph', 'kw'):
            j += 2
        return True, j, v
    if k in ('id', 'qid', 'kw'):
        if i + 2 < len(toks) and toks[i + 1][1] == '.' and toks[i + 2][0] in ('id', 'qid', 'ph', 'kw'):
            return True, i + 3, v + '.' + toks[i + 2][1]
        return False, i + 1, v
    return True, i, v


def check_sql(text):
    """The unqualified references in one SQL unit, as a list of strings."""
    toks = sql_tokens(text)
    found = []
    stmt = toks[0][1].upper() if toks else ''
    ctes = set()
    for i, (k, v) in enumerate(toks):
        if k == 'id' and i + 2 < len(toks) and toks[i + 1][1].upper() == 'AS' and toks[i + 2][1] == '(' and \
                i > 0 and (toks[i - 1][1].upper() == 'WITH' or toks[i - 1][1] == ','):
            ctes.add(v)
    paren = []          # per open paren: 'call' / 'operator' / 'group'
    from_depth = None   # paren depth of a FROM list in progress
    from_expect = False
    set_depth = None    # paren depth of a SET clause in progress
    i = 0
    while i < len(toks):
        k, v = toks[i]
        up = v.upper() if k in ('id', 'kw') else v
        prev = toks[i - 1] if i > 0 else ('', '')
        nxt = toks[i + 1] if i + 1 < len(toks) else ('', '')
        depth = len(paren)
        if v == '(':
            if prev[1].upper() == 'OPERATOR':
                # OPERATOR(schema.op): the name must be qualified
                j = i + 1
                while j < len(toks) and toks[j][1] != ')':
                    j += 1
                inner = toks[i + 1:j]
                if not (len(inner) >= 3 and inner[0][0] in ('id', 'kw', 'qid', 'ph') and inner[1][1] == '.'):
                    found.append('OPERATOR(%s) without a schema' % ''.join(t[1] for t in inner))
                i = j + 1
                continue
            elif prev[0] in ('id', 'ph') or (prev[0] == 'qid'):
                kind = 'call'
            else:
                kind = 'group'
            paren.append(kind)
            if from_expect:
                from_expect = False
            i += 1
            continue
        if v == ')':
            if paren:
                paren.pop()
            if from_depth is not None and len(paren) < from_depth:
                from_depth = None
            if set_depth is not None and len(paren) < set_depth:
                set_depth = None
            i += 1
            continue
        # --- relations -------------------------------------------------------
        rel_here = False
        if up in RELATION_WORDS and k == 'kw':
            in_call = paren and paren[-1] == 'call'
            if up == 'FROM' and (in_call or stmt in ('REVOKE', 'GRANT') or prev[1].upper() in ('DISTINCT',)):
                pass
            elif up == 'TABLE' and stmt == 'CREATE' and False:
                pass
            else:
                rel_here = True
                if up in ('FROM', 'JOIN'):
                    from_depth = depth
        elif up == 'UPDATE' and k == 'kw' and prev[1].upper() not in ('FOR', 'DO', 'NO', 'KEY'):
            rel_here = True
        elif up == 'INDEX' and k == 'kw' and prev[1].upper() == 'DROP':
            rel_here = True
        elif up == 'ON' and k == 'kw' and stmt == 'CREATE' and any(t[1].upper() == 'INDEX' for t in toks[:i]):
            rel_here = True
        elif up == 'USING' and k == 'kw' and stmt == 'DELETE':
            rel_here = True
            from_depth = depth
        elif v == ',' and from_depth == depth and k == 'p':
            rel_here = True
        elif k == 'kw' and up in CLAUSE_ENDS and from_depth == depth:
            from_depth = None
        if rel_here:
            j = i + 1
            while j < len(toks) and toks[j][1].upper() in ('ONLY', 'LATERAL', 'IF', 'EXISTS', 'NOT'):
                j += 1
            if j < len(toks) and toks[j][1] != '(':
                ok, after, name = qualified_name_at(toks, j)
                if not ok and name not in ctes and toks[j][0] != 'kw':
                    found.append(f'relation {name} without a schema')
        # --- SET clause: col = expr ------------------------------------------
        if up == 'SET' and k == 'kw':
            set_depth = depth
        elif k == 'kw' and up in ('WHERE', 'RETURNING', 'FROM') and set_depth == depth:
            set_depth = None
        # --- operators -------------------------------------------------------
        if k == 'op':
            allowed = False
            if v == '*' and prev[1] in ('(', ',', 'SELECT', '.') and nxt[1].upper() in (')', ',', 'FROM', ''):
                allowed = True
            elif v == '=' and set_depth == depth and i >= 2 and prev[0] in ('id', 'qid', 'ph') and \
                    (toks[i - 2][1] == ',' or toks[i - 2][1].upper() == 'SET' or toks[i - 2][0] in ('ph', 'param')):
                # SET col = expr (a %s before the column is the ", " between assignments)
                allowed = True
            if not allowed:
                found.append(f'operator {v} not written OPERATOR(schema.{v})')
        # --- constructs that look up an operator --------------------------------
        if k == 'kw' and up in ('LIKE', 'ILIKE', 'SIMILAR', 'BETWEEN'):
            found.append(f'{up} (looks up an operator through the search_path)')
        if k == 'kw' and up == 'IN' and nxt[1] == '(':
            found.append('IN (...) (looks up = through the search_path; use OPERATOR(pg_catalog.=) ANY)')
        if k == 'kw' and up == 'DISTINCT' and prev[1].upper() == 'IS':
            found.append('IS DISTINCT FROM (looks up = through the search_path)')
        if k == 'kw' and up == 'CASE' and nxt[1].upper() != 'WHEN':
            found.append('CASE x WHEN (looks up = through the search_path)')
        # --- function calls ----------------------------------------------------
        if k == 'id' and nxt[1] == '(' and prev[1] != '.' and prev[1] != ')' and prev[1].upper() != 'AS':
            # (after ')' or AS it is an alias with its column names: ") x(id)")
            found.append(f'function {v}() without a schema')
        if k == 'kw' and nxt[1] == '(' and up not in NOT_FUNCTIONS and prev[1] != '.':
            found.append(f'function {v}() without a schema')
        # --- types -------------------------------------------------------------
        if k == 'cast':
            ok, after, name = qualified_name_at(toks, i + 1)
            if not ok:
                found.append(f'type {name} after :: without a schema')
            elif name.split('.')[-1] in REG_TYPES and i > 0 and prev[0] == 'str' and '.' not in prev[1]:
                found.append(f'relation/function name {prev[1]} cast to {name} without a schema')
        if k == 'kw' and up == 'COLLATE':
            ok, after, name = qualified_name_at(toks, i + 1)
            if not ok:
                found.append(f'collation {name} without a schema')
        if k == 'kw' and up == 'AS' and paren and paren[-1] == 'call' and i >= 2:
            ok, after, name = qualified_name_at(toks, i + 1)
            if not ok:
                found.append(f'type {name} in CAST without a schema')
        # a column definition: CREATE TABLE x (col type, ...) / ADD COLUMN col type
        if stmt in ('CREATE', 'ALTER') and k in ('id', 'ph', 'qid') and \
                ((prev[1] in ('(', ',') and depth == 1 and any(t[1].upper() == 'TABLE' for t in toks[:3])) or
                 prev[1].upper() == 'COLUMN' and toks[i - 2][1].upper() == 'ADD'):
            if nxt[0] in ('id', 'kw', 'qid', 'ph') and nxt[1].upper() not in ('PRIMARY', 'UNIQUE', 'CHECK', 'CONSTRAINT'):
                ok, after, name = qualified_name_at(toks, i + 1)
                if not ok:
                    found.append(f'type {name} of column {v} without a schema')
        # a relation name given as text
        if k == 'str' and prev[1] == '(' and i >= 2 and toks[i - 2][1].split('.')[-1] in RELNAME_FUNCS \
                and '.' not in v:
            found.append(f'relation name {v} given to {toks[i - 2][1]} without a schema')
        i += 1
    return found


def is_sql(text, sure):
    return sure or bool(SQL_MARKER.search(text))


def findings_of(path, source=None, verbose=False):
    """(number of SQL units, report lines) for one C file."""
    units, lines = 0, []
    for line, text, sure in units_of(path, source):
        if not is_sql(text, sure):
            continue
        units += 1
        if verbose:
            lines.append(f'{path}:{line}: SQL: {text}')
        for p in check_sql(text):
            lines.append(f'{path}:{line}: {p}  [in: {text[:200]}]')
    return units, lines


def self_test(mutants_path):
    """Plant each mutant of the list in memory and require a report naming it:
    one PASS/FAIL line each; returns the number of failures."""
    failures = n = 0
    for raw in open(mutants_path, encoding='utf-8'):
        raw = raw.rstrip('\n')
        if not raw or raw.startswith('#'):
            continue
        file, old, new, expect = raw.split('\t')
        n += 1
        name = f"mutant {n} ({file}: '{old}' -> '{new}')"
        source = open(file, encoding='utf-8').read()
        if old not in source:
            print(f'FAIL: {name}: the text is not in {file} any more (update {mutants_path})')
            failures += 1
            continue
        _, lines = findings_of(file, source.replace(old, new, 1))
        hits = [l for l in lines if expect in l]
        if hits:
            what = hits[0].split(': ', 1)[1].split('  [in: ')[0]
            print(f'PASS: {name}: caught ({what})')
        else:
            print(f"FAIL: {name}: not caught (expected a report with '{expect}'):")
            print('\n'.join(lines) if lines else '    (no report)')
            failures += 1
    if n < 10:
        print(f'FAIL: only {n} mutants in {mutants_path}')
        failures += 1
    return failures


def main(argv):
    if argv and argv[0] == '--self-test':
        return 1 if self_test(argv[1]) else 0
    verbose = False
    if argv and argv[0] == '-v':
        verbose, argv = True, argv[1:]
    if not argv:
        print(__doc__)
        return 2
    findings = 0
    units = 0
    for path in argv:
        n, lines = findings_of(path, verbose=verbose)
        units += n
        for line in lines:
            if ': SQL: ' not in line:
                findings += 1
            print(line)
    print(f'sql_qualified: {units} SQL units in {len(argv)} files, {findings} unqualified references')
    return 1 if findings else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
