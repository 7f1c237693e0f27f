#!/usr/bin/python3
"""Checks the Julia binding (bindings/julia/HamDeq) against libhamdeq's public C headers.

No Julia runtime can be installed on the CI machines, so the binding is checked
mechanically instead of by running it:

  1. The public headers are preprocessed (`cc -E`, HAM_API empty, attributes removed,
     pycparser's fake libc headers from Debian's python3-pycparser for <stddef.h> and
     <stdint.h>) and parsed with pycparser: every prototype, struct, enum and
     function-pointer typedef.
  2. Every `ccall` in the package's src/*.jl is parsed (strings and comments skipped).
  3. It fails when
     - an exported function (lib/hamdeq.map) has no ccall in the package;
     - a ccall names a function that is not exported or not declared in the headers, or
       does not go through the package's `libhamdeq()`;
     - a ccall's return type, number of argument types or any argument type does not
       match the C prototype (table below), or it passes a different number of values;
     - a Julia struct marked `# C struct: NAME` differs from the C struct NAME in field
       count, names or types (so its layout is C's);
     - an `@enum` member `X = v` differs from the C constant `HAM_X`, or a C enumerator
       has no Julia counterpart;
     - an `@cfunction(f, R, (A...))` is not for a function marked
       `# C callback: TYPEDEF` or `# C callback: STRUCT.FIELD`, or its types (or the
       Julia method's annotations) differ from that C function pointer's;
     - the package README's ```julia quick start calls a function that the package does
       not export (nor Base, from a short list): the quick start is checked, not run.

C type -> accepted Julia types (`const` is ignored; `T*` is a pointer to T):

    int32_t -> Int32, Cint          uint32_t -> UInt32, Cuint
    int64_t -> Int64                uint64_t -> UInt64
    int -> Cint, Int32              size_t -> Csize_t
    double -> Cdouble, Float64      float -> Cfloat, Float32
    void (return) -> Cvoid, Nothing
    char* -> Cstring, Ptr{UInt8}, Ptr{Cchar}
    void* -> Ptr{Cvoid}, Ptr{UInt8}
    opaque handle* (ham_model_t*, ...) -> Ptr{Cvoid}
    opaque handle** (out-parameter) -> Ref{Ptr{Cvoid}}, Ptr{Ptr{Cvoid}}
    struct S* -> Ref{J}, Ptr{J}, J the Julia struct marked `# C struct: S`
    function-pointer typedef or field -> Ptr{Cvoid}
    T* (other) -> Ptr{J}, Ref{J} for each J accepted for T (an argument; a return
                  value takes Ptr only)

Usage:
    check_ccalls.py [--root DIR] [--builddir DIR] [--package DIR]
    check_ccalls.py --self-test [same options]
The self-test first checks the unmodified package (it must pass), then applies
deliberate mistakes one at a time (a wrong argument type, a wrong return type, a missing
function, a wrong value count, a wrong struct field, a wrong enum value, a wrong
callback signature, a quick start calling an unexported function) and fails unless the
checker rejects every one.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

try:
    import pycparser
    from pycparser import c_ast
except ImportError:  # pragma: no cover
    sys.exit("check_ccalls: pycparser is missing: apt-get install python3-pycparser")

FAKE_LIBC_DIRS = [
    "/usr/share/python3-pycparser/fake_libc_include",
    os.path.join(os.path.dirname(pycparser.__file__), "utils", "fake_libc_include"),
]

SCALARS = {
    "int32_t": ["Int32", "Cint"],
    "uint32_t": ["UInt32", "Cuint"],
    "int64_t": ["Int64"],
    "uint64_t": ["UInt64"],
    "int": ["Cint", "Int32"],
    "size_t": ["Csize_t"],
    "double": ["Cdouble", "Float64"],
    "float": ["Cfloat", "Float32"],
    "char": ["UInt8", "Cchar"],
}


class CheckError(Exception):
    pass


# ---------------------------------------------------------------------------------------
# C side
# ---------------------------------------------------------------------------------------

class CType:
    """A C type reduced to what the mapping needs: a base name and a pointer depth, or a
    function pointer (`fn` = (ret, [args]))."""

    def __init__(self, base, depth=0, fn=None):
        self.base, self.depth, self.fn = base, depth, fn

    def __str__(self):
        if self.fn is not None:
            return "fnptr(%s)" % ", ".join(str(a) for a in self.fn[1])
        return self.base + "*" * self.depth


def ctype_of(node):
    depth = 0
    while isinstance(node, c_ast.PtrDecl):
        if isinstance(node.type, c_ast.FuncDecl):
            return CType("fnptr", 0, fn=funcsig(node.type))
        depth += 1
        node = node.type
    if isinstance(node, c_ast.TypeDecl):
        t = node.type
        if isinstance(t, c_ast.IdentifierType):
            return CType(" ".join(t.names), depth)
        if isinstance(t, c_ast.Struct):
            return CType("struct " + (t.name or "?"), depth)
        if isinstance(t, c_ast.Enum):
            return CType("enum " + (t.name or "?"), depth)
    if isinstance(node, c_ast.ArrayDecl):
        return CType(ctype_of(node.type).base, depth + 1)
    raise CheckError("unsupported C declarator: %r" % (node,))


def funcsig(fdecl):
    ret = ctype_of(fdecl.type)
    args = []
    if fdecl.args is not None:
        for p in fdecl.args.params:
            if isinstance(p, c_ast.EllipsisParam):
                raise CheckError("variadic functions are not supported")
            t = ctype_of(p.type)
            if t.base == "void" and t.depth == 0 and t.fn is None:
                continue  # f(void)
            args.append(t)
    return ret, args


def const_value(expr, enumerators):
    if isinstance(expr, c_ast.Constant):
        return int(expr.value.rstrip("uUlL"), 0)
    if isinstance(expr, c_ast.UnaryOp) and expr.op == "-":
        return -const_value(expr.expr, enumerators)
    if isinstance(expr, c_ast.ID) and expr.name in enumerators:
        return enumerators[expr.name]
    raise CheckError("cannot evaluate enum value %r" % (expr,))


class CApi:
    def __init__(self):
        self.functions = {}   # name -> (ret CType, [arg CType])
        self.structs = {}     # typedef name -> [(field, CType)] (None: opaque)
        self.fnptrs = {}      # typedef name -> (ret, [args])
        self.enumerators = {}  # name -> value
        self.struct_tags = {}  # struct tag -> typedef name


def preprocess(root, builddir):
    include = os.path.join(root, "include", "hamdeq")
    version_dir = os.path.join(builddir, "include", "hamdeq")
    if not os.path.isfile(os.path.join(version_dir, "version.h")):
        raise CheckError("%s/version.h not found: build the library first" % version_dir)
    fake = next((d for d in FAKE_LIBC_DIRS if os.path.isdir(d)), None)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-E", "-P", "-std=c11", "-nostdinc", "-DHAM_API=", "-D__attribute__(x)=",
           "-U__GNUC__", "-I", version_dir, "-I", include]
    with tempfile.TemporaryDirectory() as stubs:
        if fake:
            cmd += ["-I", fake]
        else:  # no fake libc: stub the two system headers the public headers include
            with open(os.path.join(stubs, "stddef.h"), "w") as f:
                f.write("typedef unsigned long size_t;\n#define NULL 0\n")
            with open(os.path.join(stubs, "stdint.h"), "w") as f:
                f.write("".join("typedef int %s;\n" % t for t in
                                ("int32_t", "uint32_t", "int64_t", "uint64_t")))
            cmd += ["-I", stubs]
        cmd.append(os.path.join(include, "hamdeq.h"))
        r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise CheckError("preprocessing failed: %s\n%s" % (" ".join(cmd), r.stderr))
    return r.stdout


def parse_c(root, builddir):
    text = preprocess(root, builddir)
    ast = pycparser.CParser().parse(text, filename="<hamdeq.h>")
    api = CApi()
    pending_structs = {}  # tag -> fields
    for ext in ast.ext:
        if isinstance(ext, c_ast.Typedef):
            t = ext.type
            if isinstance(t, c_ast.PtrDecl) and isinstance(t.type, c_ast.FuncDecl):
                api.fnptrs[ext.name] = funcsig(t.type)
            elif isinstance(t, c_ast.TypeDecl) and isinstance(t.type, c_ast.Struct):
                s = t.type
                api.struct_tags[s.name] = ext.name
                if s.decls is None:
                    api.structs[ext.name] = pending_structs.get(s.name)
                else:
                    api.structs[ext.name] = [(d.name, ctype_of(d.type)) for d in s.decls]
            elif isinstance(t, c_ast.TypeDecl) and isinstance(t.type, c_ast.Enum):
                collect_enum(t.type, api)
        elif isinstance(ext, c_ast.Decl):
            if isinstance(ext.type, c_ast.FuncDecl):
                api.functions[ext.name] = funcsig(ext.type)
            elif isinstance(ext.type, c_ast.Enum):
                collect_enum(ext.type, api)
            elif isinstance(ext.type, c_ast.Struct) and ext.type.decls is not None:
                pending_structs[ext.type.name] = [(d.name, ctype_of(d.type))
                                                  for d in ext.type.decls]
    return api


def collect_enum(enum, api):
    if enum.values is None:
        return
    value = -1
    for e in enum.values.enumerators:
        value = const_value(e.value, api.enumerators) if e.value is not None else value + 1
        api.enumerators[e.name] = value


def exported_functions(root):
    names = []
    in_global = False
    with open(os.path.join(root, "lib", "hamdeq.map")) as f:
        for line in f:
            line = re.sub(r"/\*.*?\*/", "", line).strip()
            if line.startswith("global:"):
                in_global = True
                continue
            if line.startswith("local:"):
                in_global = False
            m = re.match(r"^(ham_\w+)\s*;$", line)
            if in_global and m:
                names.append(m.group(1))
    if not names:
        raise CheckError("no exported functions found in lib/hamdeq.map")
    return names


# ---------------------------------------------------------------------------------------
# Julia side
# ---------------------------------------------------------------------------------------

def mask_julia(src):
    """The source with comments and string contents blanked (same length and lines)."""
    out = list(src)
    i, n = 0, len(src)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = src[i]
        if src.startswith("#=", i):
            j = src.find("=#", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif c == "#":
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == '"':
            triple = src.startswith('"""', i)
            q = '"""' if triple else '"'
            j = i + len(q)
            while j < n and not src.startswith(q, j):
                if src[j] == "\\":
                    j += 2
                    continue
                if src.startswith("$(", j):  # interpolation: skip balanced parentheses
                    depth, j = 1, j + 2
                    while j < n and depth:
                        depth += {"(": 1, ")": -1}.get(src[j], 0)
                        j += 1
                    continue
                j += 1
            blank(i + len(q), j)
            i = j + len(q)
        elif c == "'":
            prev = src[:i].rstrip()[-1:] if src[:i].rstrip() else ""
            if prev and (prev.isalnum() or prev in ")]}_'"):
                i += 1  # adjoint operator
                continue
            m = re.match(r"'(\\.[^']*|[^'\\])'", src[i:])
            if m:
                blank(i + 1, i + len(m.group(0)) - 1)
                i += len(m.group(0))
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


def split_spans(s):
    """(start, end) of the items of s separated by commas outside (), [], {}."""
    spans, depth, start = [], 0, 0
    for k, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            spans.append((start, k))
            start = k + 1
    spans.append((start, len(s)))
    return spans


def split_top(s):
    """Splits at commas outside (), [], {}."""
    return [s[a:b].strip() for a, b in split_spans(s)]


def balanced(masked, open_at):
    """Index just past the bracket matching masked[open_at]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = []
    for j in range(open_at, len(masked)):
        ch = masked[j]
        if ch in pairs:
            stack.append(pairs[ch])
        elif ch in ")]}":
            if not stack or stack.pop() != ch:
                raise CheckError("unbalanced brackets at offset %d" % j)
            if not stack:
                return j + 1
    raise CheckError("unterminated bracket at offset %d" % open_at)


def norm(t):
    return re.sub(r"\s+", "", t)


def tuple_items(t):
    t = t.strip()
    if not (t.startswith("(") and t.endswith(")")):
        raise CheckError("argument types are not a literal tuple: %s" % t)
    inner = t[1:-1].strip()
    if not inner:
        return []
    items = split_top(inner)
    if items and items[-1] == "":
        items.pop()
    return [norm(x) for x in items]


class Ccall:
    def __init__(self, file, line, name, ret, args, nvalues, lib):
        self.file, self.line, self.name = file, line, name
        self.ret, self.args, self.nvalues, self.lib = ret, args, nvalues, lib

    def where(self):
        return "%s:%d: ccall %s" % (self.file, self.line, self.name)


class CFunction:
    def __init__(self, file, line, fname, ret, args):
        self.file, self.line, self.fname, self.ret, self.args = file, line, fname, ret, args


class JuliaPackage:
    def __init__(self, sources):
        """sources: {filename: text}"""
        self.ccalls, self.cfunctions, self.structs, self.enums = [], [], {}, {}
        self.callbacks = {}  # Julia function -> (C pointer spec, (ret, [args]) annotated)
        self.exports = set()
        self.errors = []
        for fname, src in sorted(sources.items()):
            self._parse(fname, src)

    def _parse(self, fname, src):
        masked = mask_julia(src)
        lineno = lambda pos: src.count("\n", 0, pos) + 1  # noqa: E731
        for m in re.finditer(r"(?<![\w.@])ccall\s*\(", masked):
            start = m.end() - 1
            end = balanced(masked, start)
            items = split_top(masked[start + 1:end - 1])
            where = "%s:%d" % (fname, lineno(m.start()))
            if len(items) < 3:
                self.errors.append("%s: ccall with fewer than 3 arguments" % where)
                continue
            a0, b0 = split_spans(masked[start + 1:end - 1])[0]
            raw0 = src[start + 1 + a0:start + 1 + b0].strip()  # strings as written
            fm = re.match(r"^\(\s*:(\w+)\s*,\s*(.*?)\s*\)$", raw0, re.S)
            if not fm:
                self.errors.append("%s: ccall target is not (:name, library): %s"
                                   % (where, norm(items[0])))
                continue
            try:
                args = tuple_items(items[2])
            except CheckError as e:
                self.errors.append("%s: %s" % (where, e))
                continue
            self.ccalls.append(Ccall(fname, lineno(m.start()), fm.group(1), norm(items[1]),
                                     args, len(items) - 3, norm(fm.group(2))))
        for m in re.finditer(r"@cfunction\s*\(", masked):
            start = m.end() - 1
            end = balanced(masked, start)
            items = split_top(masked[start + 1:end - 1])
            where = "%s:%d" % (fname, lineno(m.start()))
            if len(items) != 3:
                self.errors.append("%s: @cfunction needs (f, ret, (args...))" % where)
                continue
            try:
                self.cfunctions.append(CFunction(fname, lineno(m.start()), items[0].strip(),
                                                 norm(items[1]), tuple_items(items[2])))
            except CheckError as e:
                self.errors.append("%s: %s" % (where, e))
        for m in re.finditer(r"^export\s+((?:[^\n]*,[ \t]*\n)*[^\n]*)", masked, re.M):
            self.exports.update(x.strip() for x in m.group(1).replace("\n", " ").split(",")
                                if x.strip())
        # Structs marked as mirrors of C structs.
        lines = src.split("\n")
        for i, line in enumerate(lines):
            m = re.match(r"^\s*#\s*C struct:\s*(\w+)\s*$", line)
            if not m:
                continue
            j = i + 1
            sm = re.match(r"^\s*(?:mutable\s+)?struct\s+(\w+)", lines[j]) if j < len(lines) else None
            if not sm:
                self.errors.append("%s:%d: '# C struct:' not followed by a struct" % (fname, i + 1))
                continue
            fields = []
            j += 1
            while j < len(lines) and not re.match(r"^\s*end\b", lines[j]):
                fm = re.match(r"^\s*(\w+)\s*::\s*(.+?)\s*(#.*)?$", lines[j])
                if fm:
                    fields.append((fm.group(1), norm(fm.group(2))))
                j += 1
            self.structs[m.group(1)] = (sm.group(1), fields, "%s:%d" % (fname, i + 2))
        # Enums: @enum Name::T begin X = v ... end
        for m in re.finditer(r"@enum\s+(\w+)(?:::\w+)?\s+begin(.*?)\n\s*end", masked, re.S):
            for em in re.finditer(r"^\s*(\w+)\s*=\s*(-?\d+)\s*$", m.group(2), re.M):
                self.enums[em.group(1)] = (int(em.group(2)), m.group(1),
                                           "%s:%d" % (fname, lineno(m.start(2) + em.start())))
        # Callback definitions marked `# C callback: SPEC`.
        for i, line in enumerate(lines):
            m = re.match(r"^\s*#\s*C callback:\s*([\w.]+)\s*$", line)
            if not m:
                continue
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith("#"):
                j += 1
            dm = re.match(r"^\s*(?:function\s+)?(\w+!?)\s*\(", lines[j]) if j < len(lines) else None
            if not dm:
                self.errors.append("%s:%d: '# C callback:' not followed by a function" % (fname, i + 1))
                continue
            pos = sum(len(x) + 1 for x in lines[:j]) + dm.end() - 1
            end = balanced(masked, pos)
            params = [p for p in split_top(masked[pos + 1:end - 1]) if p]
            ptypes = []
            for p in params:
                pm = re.match(r"^\w+\s*::\s*(.+)$", p)
                ptypes.append(norm(pm.group(1)) if pm else None)
            rm = re.match(r"\s*::\s*([\w{}]+)", masked[end:end + 80])
            self.callbacks[dm.group(1)] = (m.group(1), norm(rm.group(1)) if rm else None,
                                           ptypes, "%s:%d" % (fname, j + 1))


# ---------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------

class Mapper:
    def __init__(self, api, pkg):
        self.api = api
        self.mirror = {c: j for c, (j, _, _) in pkg.structs.items()}  # C struct -> Julia

    def allowed(self, t, role):
        """Accepted Julia spellings of C type t; role is 'arg', 'ret' or 'field'."""
        if t.fn is not None:
            return {"Ptr{Cvoid}"}
        base, depth = t.base, t.depth
        if base.startswith("struct "):
            base = self.api.struct_tags.get(base[7:], base)
        if depth == 0:
            if base == "void":
                return {"Cvoid", "Nothing"} if role == "ret" else set()
            if base in self.api.fnptrs:
                return {"Ptr{Cvoid}"}
            if base in SCALARS:
                return set(SCALARS[base])
            if base in self.mirror:
                return {self.mirror[base]}
            return set()
        if depth == 1 and base == "char":
            return {"Cstring", "Ptr{UInt8}", "Ptr{Cchar}"}
        if depth == 1 and base == "void":
            return {"Ptr{Cvoid}", "Ptr{UInt8}"}
        if base in self.api.structs and self.api.structs[base] is None:  # opaque handle
            inner = {"Cvoid"} if depth == 1 else self.allowed(CType(base, depth - 1), "arg")
        else:
            inner = self.allowed(CType(base, depth - 1), "field")
        out = set()
        for i in inner:
            out.add("Ptr{%s}" % i)
            if role == "arg" and i != "Cvoid":
                out.add("Ref{%s}" % i)
        return out


def check(api, exported, pkg):
    errors = list(pkg.errors)
    mapper = Mapper(api, pkg)

    def mismatch(where, what, ctype, jtype, role):
        ok = mapper.allowed(ctype, role)
        if jtype not in ok:
            errors.append("%s: %s is %s, C has %s (accepted: %s)"
                          % (where, what, jtype, ctype, ", ".join(sorted(ok)) or "none"))

    called = set()
    for c in pkg.ccalls:
        called.add(c.name)
        if c.lib != "libhamdeq()":
            errors.append("%s: library is %s, not libhamdeq()" % (c.where(), c.lib))
        if c.name not in exported:
            errors.append("%s: %s is not exported by lib/hamdeq.map" % (c.where(), c.name))
        if c.name not in api.functions:
            errors.append("%s: %s is not declared in the public headers" % (c.where(), c.name))
            continue
        ret, args = api.functions[c.name]
        mismatch(c.where(), "the return type", ret, c.ret, "ret")
        if len(c.args) != len(args):
            errors.append("%s: %d argument types, the C prototype has %d"
                          % (c.where(), len(c.args), len(args)))
        else:
            for k, (ct, jt) in enumerate(zip(args, c.args)):
                mismatch(c.where(), "argument %d" % (k + 1), ct, jt, "arg")
        if c.nvalues != len(c.args):
            errors.append("%s: passes %d values for %d argument types"
                          % (c.where(), c.nvalues, len(c.args)))
    for name in exported:
        if name not in called:
            errors.append("%s: exported by libhamdeq but never called by the package" % name)

    # Structs.
    for cname, (jname, fields, where) in sorted(pkg.structs.items()):
        cfields = api.structs.get(cname)
        if cfields is None:
            errors.append("%s: %s is not a C struct with fields" % (where, cname))
            continue
        if len(cfields) != len(fields):
            errors.append("%s: %s has %d fields, C's %s has %d"
                          % (where, jname, len(fields), cname, len(cfields)))
            continue
        for (cf, ct), (jf, jt) in zip(cfields, fields):
            if cf != jf:
                errors.append("%s: %s field %s is %s in C" % (where, jname, jf, cf))
            mismatch(where, "%s.%s" % (jname, jf), ct, jt, "field")
    used_structs = {s for f in api.functions.values() for t in [f[0]] + f[1]
                    for s in [t.base] if s in api.structs and api.structs[s] is not None}
    for s in sorted(used_structs):
        if s not in pkg.structs:
            errors.append("C struct %s (used by the API) has no Julia struct marked "
                          "'# C struct: %s'" % (s, s))

    # Enums.
    for jname, (value, enum, where) in sorted(pkg.enums.items()):
        cname = "HAM_" + jname
        if cname not in api.enumerators:
            errors.append("%s: %s.%s has no C constant %s" % (where, enum, jname, cname))
        elif api.enumerators[cname] != value:
            errors.append("%s: %s.%s = %d, but %s = %d"
                          % (where, enum, jname, value, cname, api.enumerators[cname]))
    for cname in sorted(api.enumerators):
        if cname.startswith("HAM_") and cname[4:] not in pkg.enums:
            errors.append("C constant %s has no Julia @enum member %s" % (cname, cname[4:]))

    # @cfunction trampolines against the C function pointers they stand for.
    for cf in pkg.cfunctions:
        where = "%s:%d: @cfunction(%s)" % (cf.file, cf.line, cf.fname)
        cb = pkg.callbacks.get(cf.fname)
        if cb is None:
            errors.append("%s: %s has no '# C callback: ...' mark" % (where, cf.fname))
            continue
        spec, jret, jparams, defwhere = cb
        if "." in spec:
            sname, field = spec.split(".", 1)
            ftype = dict(api.structs.get(sname) or []).get(field)
            sig = ftype.fn if ftype is not None else None
        else:
            sig = api.fnptrs.get(spec)
        if sig is None:
            errors.append("%s: %s is not a C function pointer" % (where, spec))
            continue
        ret, args = sig
        mismatch(where, "the return type", ret, cf.ret, "ret")
        if jret is not None and jret != cf.ret:
            errors.append("%s: %s returns %s, the @cfunction says %s" % (defwhere, cf.fname,
                                                                         jret, cf.ret))
        if len(args) != len(cf.args):
            errors.append("%s: %d argument types, %s has %d" % (where, len(cf.args), spec,
                                                                len(args)))
            continue
        for k, (ct, jt) in enumerate(zip(args, cf.args)):
            mismatch(where, "argument %d" % (k + 1), ct, jt, "arg")
        if len(jparams) != len(cf.args) or any(p is not None and p != a
                                               for p, a in zip(jparams, cf.args)):
            errors.append("%s: the method's argument types %s differ from the @cfunction's %s"
                          % (defwhere, jparams, cf.args))
    return errors


# Base and stdlib functions the README's examples may call besides the package's exports.
README_BASE = {"println", "print", "rand", "randn", "zeros", "ones", "reshape", "size",
               "length", "argmax", "eachcol", "close", "round", "sum", "maximum", "abs",
               "using", "Float32", "Int32", "collect", "first", "string", "isopen"}


def check_readme(path, pkg):
    """Every function a ```julia block of the README calls is exported by the package
    (or an enum member) or a Base function listed in README_BASE."""
    errors = []
    with open(path) as f:
        text = f.read()
    blocks = re.findall(r"```julia\n(.*?)```", text, re.S)
    if not blocks:
        return ["%s: no ```julia quick start" % path], 0
    known = set(pkg.exports) | set(pkg.enums) | README_BASE
    calls = 0
    for b in blocks:
        code = mask_julia(b)
        for m in re.finditer(r"(?<![\w.:])([A-Za-z_]\w*!?)\s*\(", code):
            calls += 1
            if m.group(1) not in known:
                errors.append("%s: the quick start calls %s, which HamDeq does not export"
                              % (path, m.group(1)))
    return errors, calls


def check_library(path, names):
    """Every function the package calls is a defined dynamic symbol of the library."""
    r = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise CheckError("nm -D %s failed: %s" % (path, r.stderr.strip()))
    defined = {line.split()[-1].split("@")[0] for line in r.stdout.splitlines() if line.split()}
    return ["%s: %s is not exported by the built library" % (path, n)
            for n in sorted(names) if n not in defined]


# ---------------------------------------------------------------------------------------
# Driver and self-test
# ---------------------------------------------------------------------------------------

def load_sources(package):
    src_dir = os.path.join(package, "src")
    sources = {}
    for name in sorted(os.listdir(src_dir)):
        if name.endswith(".jl"):
            with open(os.path.join(src_dir, name)) as f:
                sources[os.path.join("src", name)] = f.read()
    if not sources:
        raise CheckError("no .jl files under %s" % src_dir)
    return sources


def run_check(api, exported, sources):
    pkg = JuliaPackage(sources)
    return pkg, check(api, exported, pkg)


# (description, file, text to replace, replacement, message the checker must print)
MUTATIONS = [
    ("wrong argument type",
     "src/HamDeq.jl", "(Ref{Ptr{Cvoid}}, Int32, Ptr{Int32}, UInt32)",
     "(Ref{Ptr{Cvoid}}, Int64, Ptr{Int32}, UInt32)", "ccall ham_model_new: argument 2 is Int64"),
    ("wrong return type",
     "src/HamDeq.jl", "ccall((:ham_version, libhamdeq()), UInt32, ())",
     "ccall((:ham_version, libhamdeq()), Int64, ())", "ccall ham_version: the return type is Int64"),
    ("float64 state for a float32 one",
     "src/HamDeq.jl", "(Ptr{Cvoid}, Ptr{Float32}, Int32, Ptr{Float32}), s, state, b, xa)",
     "(Ptr{Cvoid}, Ptr{Float64}, Int32, Ptr{Float32}), s, state, b, xa)",
     "ccall ham_solver_solve: argument 2 is Ptr{Float64}"),
    ("missing function (misspelt)",
     "src/HamDeq.jl", ":ham_dataset_gather,", ":ham_dataset_gathr,",
     "ham_dataset_gather: exported by libhamdeq but never called"),
    ("missing argument type",
     "src/HamDeq.jl", "(Ptr{Cvoid}, Int32, Int32, Cdouble),\n                m, layer - 1,",
     "(Ptr{Cvoid}, Int32, Int32),\n                m, layer - 1,",
     "ccall ham_model_set_lagrangian: 3 argument types, the C prototype has 4"),
    ("value count differs from the types",
     "src/HamDeq.jl", "(Ptr{Cvoid}, UInt64), m, UInt64(seed))", "(Ptr{Cvoid}, UInt64), m)",
     "ccall ham_model_init_xavier: passes 1 values for 2 argument types"),
    ("handle passed by value as an out-parameter",
     "src/HamDeq.jl", "(Ref{Ptr{Cvoid}}, Cstring), out, path)", "(Ptr{Cvoid}, Cstring), out, path)",
     "ccall ham_model_load: argument 1 is Ptr{Cvoid}"),
    ("wrong struct field",
     "src/HamDeq.jl", "    iters_mean::Cdouble\n    evaluations::Int64",
     "    iters_mean::Float32\n    evaluations::Int64", "SolveStatsC.iters_mean is Float32"),
    ("wrong enum value",
     "src/HamDeq.jl", "OPT_ATOL = 15", "OPT_ATOL = 16", "OPT_ATOL = 16, but HAM_OPT_ATOL = 15"),
    ("wrong callback signature",
     "src/HamDeq.jl", "@cfunction(_iter_trampoline, Cint, (Ptr{IterInfoC}, Ptr{Cvoid}))",
     "@cfunction(_iter_trampoline, Cint, (Ptr{IterInfoC}, Int32))",
     "@cfunction(_iter_trampoline): argument 2 is Int32"),
]


def self_test(api, exported, sources, readme):
    failures = 0
    pkg, errors = run_check(api, exported, sources)
    errors += check_readme(readme, pkg)[0]
    if errors:
        print("self-test: the unmodified package does not pass:")
        for e in errors:
            print("  " + e)
        return 1
    print("self-test: unmodified package passes")
    for desc, fname, old, new, expect in MUTATIONS:
        text = sources.get(fname, "")
        count = text.count(old)
        if count != 1:
            print("self-test FAIL: %s: the text to mutate occurs %d times" % (desc, count))
            failures += 1
            continue
        mutated = dict(sources)
        mutated[fname] = text.replace(old, new)
        _, errors = run_check(api, exported, mutated)
        hit = [e for e in errors if expect in e]
        if hit:
            print("self-test ok: %s -> rejected: %s" % (desc, hit[0]))
        else:
            print("self-test FAIL: %s was not rejected as expected (%r); errors: %s"
                  % (desc, expect, errors or "none"))
            failures += 1
    # A quick start that calls a function the package does not export.
    with open(readme) as f:
        text = f.read()
    with tempfile.NamedTemporaryFile("w", suffix=".md") as bad:
        bad.write(text.replace("solve!(solver, state, x)", "solve(solver, state, x)", 1))
        bad.flush()
        hit = [e for e in check_readme(bad.name, pkg)[0] if "calls solve," in e]
    if hit:
        print("self-test ok: README calling an unexported function -> rejected: %s" % hit[0])
    else:
        print("self-test FAIL: a README calling solve() was not rejected")
        failures += 1
    total = len(MUTATIONS) + 1
    print("self-test: %d of %d deliberate mistakes rejected" % (total - failures, total))
    return 1 if failures else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--builddir", default=None, help="build directory (default ROOT/build)")
    ap.add_argument("--package", default=os.path.join(here, "HamDeq"))
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--readme", default=None, help="README to check (default PACKAGE/README.md)")
    ap.add_argument("--library", default=None,
                    help="also check that the built library exports every function called")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    builddir = a.builddir or os.path.join(a.root, "build")
    try:
        api = parse_c(a.root, builddir)
        exported = exported_functions(a.root)
        sources = load_sources(a.package)
        readme = a.readme or os.path.join(a.package, "README.md")
        if a.self_test:
            return self_test(api, exported, sources, readme)
        pkg, errors = run_check(api, exported, sources)
        readme_errors, readme_calls = check_readme(readme, pkg)
        errors += readme_errors
        if a.library:
            errors += check_library(a.library, {c.name for c in pkg.ccalls})
    except CheckError as e:
        print("check_ccalls: error: %s" % e)
        return 2
    if a.verbose:
        for c in pkg.ccalls:
            print("%s: %s %s -> %s" % (c.where(), c.args, "", c.ret))
    for e in errors:
        print("check_ccalls: " + e)
    n_ccalls = len(pkg.ccalls)
    distinct = len({c.name for c in pkg.ccalls})
    print("check_ccalls: %d exported functions, %d declared; %d ccalls of %d functions, "
          "%d structs, %d enum values, %d @cfunction trampolines, %d README calls: %s"
          % (len(exported), len(api.functions), n_ccalls, distinct, len(pkg.structs),
             len(pkg.enums), len(pkg.cfunctions), readme_calls,
             "OK" if not errors else "%d problem(s)" % len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
