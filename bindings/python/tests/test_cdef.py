"""The hand-written cdef (hamdeq/_cdef.py) against the real headers and the symbol map.

The public headers are run through the C preprocessor at test time and the result is
parsed by cffi into a second FFI; every function prototype, struct layout and enum value
must agree with the binding's declarations, both ways. A small C program compiled
against the headers checks the struct layouts cffi computed against the compiler's.
"""

import os
import re
import shutil
import subprocess

import cffi
import pytest

import hamdeq
from hamdeq import _cdef, constants
from hamdeq._lib import ffi as bffi, raw_lib

CC = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler to preprocess the headers")


def map_functions(repo):
    text = (repo / "lib" / "hamdeq.map").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return sorted(set(re.findall(r"\b(ham_\w+)\s*;", text)))


def include_args(repo, builddir, tmp):
    """-I options: a stub libc (cffi knows the fixed-width types itself) and the headers;
    version.h from the build directory, or a stub when there is none."""
    stub = tmp / "stub"
    stub.mkdir(exist_ok=True)
    for h in ("stddef.h", "stdint.h"):
        (stub / h).write_text("")
    gen = builddir / "include" / "hamdeq"
    if not (gen / "version.h").exists():
        gen = tmp / "gen"
        gen.mkdir(exist_ok=True)
        (gen / "version.h").write_text("")
    return ["-nostdinc", "-I", str(stub), "-I", str(gen), "-I", str(repo / "include")]


@pytest.fixture(scope="module")
def headers(repo, builddir, tmp_path_factory):
    if CC is None:
        pytest.skip("no C compiler")
    tmp = tmp_path_factory.mktemp("cdef")
    args = include_args(repo, builddir, tmp)
    umbrella = str(repo / "include" / "hamdeq" / "hamdeq.h")
    pre = subprocess.run([CC, "-E", "-P", *args, umbrella], check=True, capture_output=True,
                         text=True).stdout
    pre = re.sub(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)", "", pre)
    macros = subprocess.run([CC, "-E", "-dM", *args, umbrella], check=True, capture_output=True,
                            text=True).stdout
    hffi = cffi.FFI()
    hffi.cdef(pre)
    return hffi, hffi.dlopen(os.environ.get("HAMDEQ_LIBRARY") or "libhamdeq.so.0"), macros


def declared(ffi_, lib_):
    """{name: ctype cname} for functions, {name: int} for constants."""
    funcs, consts = {}, {}
    for name in dir(lib_):
        value = getattr(lib_, name)
        if isinstance(value, int):
            consts[name] = value
        else:
            funcs[name] = ffi_.typeof(value).cname
    return funcs, consts


@needs_cc
def test_functions_and_constants_match_headers(headers):
    hffi, hlib, _ = headers
    hfuncs, hconsts = declared(hffi, hlib)
    bfuncs, bconsts = declared(bffi, raw_lib)
    assert bfuncs == hfuncs
    # the cdef keeps HAM_MAX_LAYERS as a #define, which the preprocessor expanded away
    assert {k: v for k, v in bconsts.items() if k != "HAM_MAX_LAYERS"} == hconsts


def struct_layout(f, name):
    t = f.typeof(name)
    if t.fields is None:
        return None
    return (f.sizeof(t), f.alignof(t),
            [(n, fld.type.cname, fld.offset) for n, fld in t.fields])


@needs_cc
def test_structs_match_headers(headers):
    hffi, _, _ = headers
    _, hstructs, hunions = hffi.list_types()
    _, bstructs, bunions = bffi.list_types()
    assert sorted(bstructs) == sorted(hstructs) and not hunions and not bunions
    for s in hstructs:
        assert struct_layout(bffi, "struct " + s) == struct_layout(hffi, "struct " + s), s
    htypedefs, _, _ = hffi.list_types()
    btypedefs, _, _ = bffi.list_types()
    assert sorted(btypedefs) == sorted(htypedefs)
    for t in htypedefs:
        assert bffi.typeof(t).cname == hffi.typeof(t).cname, t


@needs_cc
def test_struct_layouts_match_the_compiler(repo, builddir, tmp_path):
    """sizeof/offsetof as the C compiler sees the real headers, against cffi's layout."""
    structs = [s for s in bffi.list_types()[1] if bffi.typeof("struct " + s).fields is not None]
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include <hamdeq/hamdeq.h>',
             'int main(void) {']
    expected = []
    for s in structs:
        t = bffi.typeof("struct " + s)
        lines.append('printf("%%s %%zu %%zu\\n", "%s", sizeof(struct %s), _Alignof(struct %s));'
                     % (s, s, s))
        expected.append("%s %d %d" % (s, bffi.sizeof(t), bffi.alignof(t)))
        for n, fld in t.fields:
            lines.append('printf("%%s.%%s %%zu\\n", "%s", "%s", offsetof(struct %s, %s));'
                         % (s, n, s, n))
            expected.append("%s.%s %d" % (s, n, fld.offset))
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    gen = builddir / "include"
    if not (gen / "hamdeq" / "version.h").exists():
        pytest.skip("no generated version.h in %s" % builddir)
    subprocess.run([CC, "-std=c11", "-I", str(repo / "include"), "-I", str(gen / "hamdeq"),
                    "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert out.split("\n")[:-1] == expected
    assert len(structs) == 7


def macro_value(text):
    text = re.sub(r"\(\s*u?int\d+_t\s*\)", "", text)
    if not re.fullmatch(r"[\d\s()<>+*xXa-fA-FuUlL-]*", text):
        raise ValueError(text)
    return eval(re.sub(r"(\d)[uUlL]+", r"\1", text))  # noqa: S307 - digits and operators only


@needs_cc
def test_macros_are_known(headers):
    """Every object-like HAM_ macro of the headers is either a constant of the binding or
    one the binding has no use for (the export attribute, the headers' own version)."""
    _, _, macros = headers
    found = dict(re.findall(r"#define (HAM\w*) (.*)", macros))
    found = {k: v for k, v in found.items() if not k.startswith("HAMDEQ_")}
    ignored = {"HAM_API", "HAM_VERSION_MAJOR", "HAM_VERSION_MINOR", "HAM_VERSION_PATCH",
               "HAM_VERSION_STRING", "HAM_VERSION_NUMBER"}
    known = {"HAM_MAX_LAYERS": _cdef.HAM_MAX_LAYERS,
             "HAM_LOAD_DEFAULT_MAX_BYTES": _cdef.HAM_LOAD_DEFAULT_MAX_BYTES}
    assert set(found) - ignored == set(known)
    for k, v in known.items():
        assert macro_value(found[k]) == v, k
    assert hamdeq.MAX_LAYERS == 64 and hamdeq.LOAD_DEFAULT_MAX_BYTES == 2**31
    if "HAM_VERSION_MAJOR" in found:
        assert (int(found["HAM_VERSION_MAJOR"]), int(found["HAM_VERSION_MINOR"])) == \
            hamdeq.version()[:2] == (_cdef.API_MAJOR, _cdef.API_MINOR)


def test_enums_match_the_library():
    """Every member of every enum class equals the library's constant of its C name, and
    every HAM_ constant of the cdef has a member."""
    covered = set()
    for cls, prefix in constants.ENUMS:
        for m in cls:
            cname = "HAM_" + prefix + m.name
            assert getattr(raw_lib, cname) == m.value, cname
            assert getattr(hamdeq, prefix + m.name) is m
            covered.add(cname)
    _, consts = declared(bffi, raw_lib)
    assert set(consts) - {"HAM_MAX_LAYERS"} == covered


def test_every_exported_function_is_declared(repo):
    funcs, _ = declared(bffi, raw_lib)
    assert len(map_functions(repo)) == 84
    assert sorted(funcs) == map_functions(repo)


@needs_cc
def test_headers_declare_exactly_the_map(repo, headers):
    hffi, hlib, _ = headers
    hfuncs, _ = declared(hffi, hlib)
    assert sorted(hfuncs) == map_functions(repo)
