"""Every external program the code, the tests and the deploy scripts run comes from deploy/system-packages.txt.

The programs are collected statically: the command of every subprocess/os.exec*/asyncio call, every
shutil.which() and Playwright executable_path= in the Python files, and the command words of the deploy
shell scripts and .ci/run. A program no listed package provides fails the test, so that a fresh CI machine
cannot lack it.
"""

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "deploy" / "system-packages.txt"
PYTHON_DIRS = ["trading", "bidding", "experts", "timestamps", "tests", "deploy", "bench"]
PYTHON_SCRIPTS = ["bench/run", "manage.py"]
SHELL_SCRIPTS = ["deploy/local-cluster", "deploy/backup", "deploy/restore", ".ci/run"]

# Programs that are not Debian packages of the list, and why:
NOT_FROM_DEBIAN = {
    "python", "python3", "python3.11",  # the interpreter itself (sys.executable, .venv/bin/python)
    "daphne", "celery", "ruff", "lint-imports", "pytest",  # console scripts of the locked Python packages
    "py-spy",  # optional profiler of bench/deadline_surge.py --profile, installed with pip by whoever uses it
    "bash",  # the shell that runs the scripts; Essential in Debian
    "sudo",  # deploy/dev.py uses it only when it is there and the user is not root
}
SHELL_BUILTINS = {
    ".", ":", "[", "[[", "break", "case", "cd", "command", "continue", "do", "done", "echo", "elif", "else",
    "esac", "eval", "exec", "exit", "export", "false", "fi", "for", "function", "if", "in", "kill", "local",
    "printf", "pwd", "read", "return", "set", "shift", "source", "test", "then", "time", "trap", "true", "unset",
    "until", "wait", "while", "!", "{", "}", "(", ")",
}
PROCESS_CALLS = {
    "subprocess": {"run", "Popen", "check_output", "check_call", "call"},
    "os": {"execv", "execve", "execvp", "execvpe", "execl", "execlp", "spawnv", "spawnvp", "system", "popen"},
    "asyncio": {"create_subprocess_exec"},
}


def listed_programs(text: str) -> dict[str, str]:
    """{program: package} from the bin/ and sbin/ paths of system-packages.txt."""
    programs = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        package, needed_by, *paths = fields
        assert needed_by in {"run", "test"} and paths, f"bad line in {PACKAGES.name}: {line!r}"
        for path in paths:
            if re.search(r"/s?bin/[^/]+$", path):
                programs[Path(path).name] = package
    return programs


# --- Python ----------------------------------------------------------------------------------------------

class Unresolved(Exception):
    pass


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Attribute):
        return [target.attr]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for e in target.elts for n in _names(e)]
    return []


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_process_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.attr in PROCESS_CALLS.get(func.value.id, ())
    return isinstance(func, ast.Name) and func.id in {"Popen", "check_output", "check_call"}


_MODULES: dict[str, "PythonCommands | None"] = {}


def _module(name: str) -> "PythonCommands | None":
    """The collector of a module of this repository, by dotted name (for names imported from it)."""
    if name not in _MODULES:
        path = ROOT / Path(*name.split(".")).with_suffix(".py")
        _MODULES[name] = None
        if path.exists():
            _MODULES[name] = PythonCommands(ast.parse(path.read_text(encoding="utf-8")), visit=False)
    return _MODULES[name]


class PythonCommands(ast.NodeVisitor):
    """The programs one module runs, as far as the module's own constants tell."""

    def __init__(self, tree: ast.Module, visit: bool = True):
        self.assigned: dict[str, list[ast.expr]] = {}
        self.comprehension: dict[str, ast.expr] = {}
        self.imported: dict[str, str] = {}  # name: module
        self.returns: dict[str, list[ast.expr]] = {}  # function: its returned values
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = node.module
            elif isinstance(node, ast.FunctionDef):
                self.returns[node.name] = [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value]
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in _names(target):
                        self.assigned.setdefault(name, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                for name in _names(node.target):
                    self.assigned.setdefault(name, []).append(node.value)
            elif isinstance(node, ast.comprehension | ast.For):
                for name in _names(node.target):
                    self.comprehension[name] = node.iter
        self.wrappers = self._wrappers(tree)
        self.params: list[set[str]] = [set()]  # parameters of the enclosing wrapper functions
        self.found: set[str] = set()
        self.unresolved: list[str] = []
        if visit:
            self.visit(tree)

    @staticmethod
    def _wrappers(tree: ast.Module) -> dict[str, tuple[str, int]]:
        """Functions of this module that hand a parameter to subprocess as the command or its program.

        {name: (mode, index)}: "list" when the parameter is the whole command, "program" when it is the
        program, "varargs" when `*args` is spread into the command; index counts positional parameters.
        """
        wrappers = {}
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = [a.arg for a in func.args.args if a.arg not in {"self", "cls"}]
            vararg = func.args.vararg.arg if func.args.vararg else None
            for call in ast.walk(func):
                if not (isinstance(call, ast.Call) and _is_process_call(call) and call.args):
                    continue
                first = call.args[0]
                if isinstance(first, ast.Name) and first.id in params:
                    wrappers[func.name] = ("list", params.index(first.id))
                elif isinstance(first, ast.ListComp) and isinstance(first.generators[0].iter, ast.Name) \
                        and first.generators[0].iter.id == vararg:  # [str(a) for a in args]
                    wrappers[func.name] = ("varargs", len(params))
                elif isinstance(first, ast.List):
                    for element in first.elts:
                        if isinstance(element, ast.Starred) and isinstance(element.value, ast.Name) \
                                and element.value.id == vararg:
                            wrappers[func.name] = ("varargs", len(params))
                        elif isinstance(element, ast.Name) and element.id in params:
                            wrappers[func.name] = ("program", params.index(element.id))
                        elif isinstance(element, ast.Starred):
                            continue  # a prefix such as *sudo
                        break
        return wrappers

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        names = {a.arg for a in node.args.args} | ({node.args.vararg.arg} if node.args.vararg else set())
        self.params.append(names if node.name in self.wrappers else set())
        self.generic_visit(node)
        self.params.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def programs(self, node: ast.expr, depth: int = 0) -> set[str]:
        """The program names an expression can evaluate to."""
        if depth > 8:
            raise Unresolved
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {Path(node.value).name}
        if isinstance(node, ast.Attribute) and node.attr == "executable":  # sys.executable
            return {"python"}
        if isinstance(node, ast.Name | ast.Attribute):
            name = _names(node)[0]
            if name in self.comprehension:
                iterable = self.comprehension[name]
                if isinstance(iterable, ast.Tuple | ast.List | ast.Set):
                    return set().union(*(self.programs(e, depth + 1) for e in iterable.elts))
                raise Unresolved
            if name in self.assigned:
                return set().union(*(self.programs(v, depth + 1) for v in self.assigned[name]))
            module = _module(self.imported[name]) if name in self.imported else None
            if module is not None:
                return module.programs(node, depth + 1)
            raise Unresolved
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # Path / "bin" / "name"
            return self.programs(node.right, depth + 1)
        if isinstance(node, ast.BoolOp):  # shutil.which("x") or "/usr/bin/x"
            return set().union(*(self.programs(v, depth + 1) for v in node.values))
        if isinstance(node, ast.Call):
            callee = _callee(node)
            if callee in {"str", "Path", "fspath", "which", "get", "getenv"} and node.args:
                # os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"): the default
                return self.programs(node.args[-1], depth + 1)
            if callee == "with_name" and node.args:
                return self.programs(node.args[0], depth + 1)
            if isinstance(node.func, ast.Name) and self.returns.get(callee):  # python311()
                return set().union(*(self.programs(v, depth + 1) for v in self.returns[callee]))
        raise Unresolved

    def _prefix(self, node: ast.Starred) -> tuple[set[str], bool]:
        """(programs, may be empty) of a command prefix spread into a command: [*sudo, apt, ...]."""
        names = _names(node.value)
        if not (names and names[0] in self.assigned):
            raise Unresolved
        programs, empty = set(), False
        for value in self.assigned[names[0]]:
            for item in ast.walk(value):
                if isinstance(item, ast.List):
                    if item.elts:
                        programs |= self.programs(item.elts[0])
                    else:
                        empty = True
        if not programs and not empty:
            raise Unresolved
        return programs, empty

    def _is_param(self, node: ast.expr) -> bool:
        inner = node.value if isinstance(node, ast.Starred) else node
        if isinstance(inner, ast.ListComp):
            inner = inner.generators[0].iter
        return isinstance(inner, ast.Name) and inner.id in self.params[-1]

    def command(self, node: ast.expr) -> None:
        """A command: a list whose first element (after prefixes that may be empty) is the program."""
        try:
            if self._is_param(node):
                return  # the body of a wrapper: its callers name the program
            if isinstance(node, ast.List):
                for element in node.elts:
                    if self._is_param(element):
                        return
                    if isinstance(element, ast.Starred):
                        programs, may_be_empty = self._prefix(element)
                        self.found |= programs
                        if may_be_empty:
                            continue
                        return
                    self.found |= self.programs(element)
                    return
                raise Unresolved
            names = _names(node) if isinstance(node, ast.Name | ast.Attribute) else []
            values = self.assigned.get(names[0], []) if names else []
            if values and all(isinstance(v, ast.List) for v in values):
                for value in values:
                    self.command(value)
            else:
                self.found |= self.programs(node)
        except Unresolved:
            self.unresolved.append(ast.unparse(node))

    def visit_Call(self, node: ast.Call) -> None:
        callee = _callee(node)
        if _is_process_call(node) and node.args:
            self.command(node.args[0])
        elif callee == "which" and node.args:
            self.command(node.args[0])
        elif callee in self.wrappers:
            mode, index = self.wrappers[callee]
            if len(node.args) > index and not isinstance(node.args[index], ast.Starred):
                self.command(node.args[index])
        for keyword in node.keywords:
            if keyword.arg == "executable_path":
                self.command(keyword.value)
        self.generic_visit(node)


def python_files() -> list[Path]:
    files = [p for d in PYTHON_DIRS for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files + [ROOT / p for p in PYTHON_SCRIPTS if (ROOT / p).exists()])


def python_programs() -> tuple[dict[str, set[str]], list[str]]:
    programs: dict[str, set[str]] = {}
    unresolved = []
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        commands = PythonCommands(tree)
        where = str(path.relative_to(ROOT))
        for program in commands.found:
            programs.setdefault(program, set()).add(where)
        unresolved += [f"{where}: {text}" for text in commands.unresolved]
    return programs, unresolved


# --- shell -----------------------------------------------------------------------------------------------

def _shell_code(text: str) -> str:
    """The script with comments, heredoc bodies and quoted text taken out; $( ) inside "" is kept."""
    kept, heredoc = [], None
    for line in text.splitlines():
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        match = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if match:
            heredoc = match.group(1)
        kept.append(line)
    text = "\n".join(kept)
    out, stack, i = [], [["code", 0]], 0  # frames: code (top level or $( )) with its ( depth, or dq
    while i < len(text):
        c, frame = text[i], stack[-1]
        if frame[0] == "dq":
            if c == "\\":
                i += 2
                continue
            if c == '"':
                stack.pop()
                out.append('"')
            elif text.startswith("$(", i):
                stack.append(["code", 0])
                out.append("$(")
                i += 1
            i += 1
            continue
        if c == "\\":
            out.append(" " if text[i + 1: i + 2] == "\n" else text[i: i + 2])
            i += 2
            continue
        if c == "#" and (i == 0 or text[i - 1].isspace()):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        if c == "'":
            end = text.find("'", i + 1)
            out.append("''")
            i = end + 1 if end >= 0 else len(text)
            continue
        if c == '"':
            stack.append(["dq", 0])
        elif c == "(":
            frame[1] += 1
        elif c == ")":
            if frame[1]:
                frame[1] -= 1
            elif len(stack) > 1:
                stack.pop()
        out.append(c)
        i += 1
    return "".join(out)


def shell_programs(text: str) -> set[str]:
    """The command words of a bash script: the first word of each simple command, after assignments."""
    text = _shell_code(text)
    functions = set(re.findall(r"(?m)^\s*(?:function\s+)?([\w-]+)\s*\(\)", text))
    found = set()
    in_case = False
    for line in text.splitlines():
        if re.match(r"\s*case\b", line):
            in_case = True
        if re.match(r"\s*esac\b", line):
            in_case = False
        if in_case:
            line = re.sub(r"^\s*[^()\s]+\)", "", line)  # a case pattern:  --keep)
        for part in re.split(r"\$\(|`|;;|&&|\|\||[;|&(){}]|\b(?:then|do|else|elif|if|while|until)\b|!", line):
            words = part.split()
            while words and (re.match(r"^\w+=", words[0]) or words[0] in {"exec", "command", "time"}):
                words.pop(0)
            if not words:
                continue
            word = words[0].strip("\"'")
            if not re.match(r"^[\w./+-]*[A-Za-z][\w./+-]*$", word) or word.startswith(("-", "/..")):
                continue  # a variable ("$PY" is the venv's python), an option, a redirection, a path part
            if word in SHELL_BUILTINS or word in functions:
                continue
            found.add(Path(word).name)
    return found


@functools.cache
def all_programs() -> tuple[dict[str, set[str]], list[str]]:
    programs, unresolved = python_programs()
    for script in SHELL_SCRIPTS:
        for program in shell_programs((ROOT / script).read_text(encoding="utf-8")):
            programs.setdefault(program, set()).add(script)
    return programs, unresolved


# --- the tests -------------------------------------------------------------------------------------------

def unlisted(programs: dict[str, set[str]], listed: dict[str, str]) -> dict[str, set[str]]:
    return {p: where for p, where in sorted(programs.items()) if p not in listed and p not in NOT_FROM_DEBIAN}


def test_every_program_run_comes_from_a_listed_debian_package():
    programs, _ = all_programs()
    missing = unlisted(programs, listed_programs(PACKAGES.read_text(encoding="utf-8")))
    assert not missing, "programs no package of deploy/system-packages.txt provides:\n" + "\n".join(
        f"  {program}: run by {', '.join(sorted(where))}" for program, where in missing.items())


def test_every_command_is_resolved():
    """A command the collector cannot read would escape the check above: name the program in a constant."""
    _, unresolved = all_programs()
    assert not unresolved, "commands whose program is not a constant:\n  " + "\n  ".join(unresolved)


def test_the_collector_finds_the_programs_we_know_about():
    programs, _ = all_programs()
    for program in ["nginx", "psql", "pg_dump", "pg_restore", "pdftoppm", "pdfsig", "pdftotext", "openssl", "curl",
                    "chromium", "redis-server", "initdb", "pg_ctl", "runuser", "python"]:
        assert program in programs, program


@pytest.mark.parametrize("package", ["nginx", "poppler-utils", "postgresql-client"])
def test_removing_a_package_from_the_list_fails_the_check(package):
    text = PACKAGES.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if line.split("#", 1)[0].split()[:1] != [package])
    assert without != text
    programs, _ = all_programs()
    assert unlisted(programs, listed_programs(without)), f"the check passes without {package}"


def test_shell_parser_reads_command_words():
    script = """#!/bin/bash
set -e
X=1 foo --bar "$(baz "$q")/.." | grep '#x' && sort -u || "$PY" -c 'multi
line' ; echo "not # a comment; nor $x" 2>&1
case "$a" in
  --keep) KEEP=1 ;;
esac
cat > f <<EOF
notacommand here
EOF
for i in $(seq 1 3); do sleep 1; done  # comment words
[ -f x ] && { echo "hello world"; exit 1; }
"""
    assert shell_programs(script) == {"foo", "baz", "grep", "sort", "cat", "seq", "sleep"}
