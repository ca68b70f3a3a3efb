# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled column gathering: decoded msgspec records -> column buffers, one C loop per column.

The records come from :mod:`._structs` (msgspec ``Struct`` objects holding only the declared
fields). Reading a field through Python (``attrgetter`` over a list, then ``pa.array``) costs
about 50 ns per value, so 39 columns cost twice the decoding itself. Here a field is read straight
from its slot: msgspec stores each field in an ordinary ``__slots__`` member, and the member
descriptor of the class tells the slot's offset. The record's type is checked against the
declared class at every level before a slot is read, so a null, a missing parent or a ref sent
as a bare id where an object is declared reads as a missing value, never as a stray pointer.

Every function fills caller-allocated numpy buffers (``out`` and ``valid``, one entry per record)
and returns nothing, except :func:`strings`, which returns the UTF-8 text of the column (its
offsets go into ``out``). A path is ``(types, offsets)``: the declared class and the slot offset
of each level, from :func:`slot_offset`.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcmp, memcpy, memset


cdef extern from "Python.h":
    PyTypeObject* Py_TYPE(PyObject* obj)
    int PyUnicode_Check(PyObject* obj)
    int PyLong_Check(PyObject* obj)
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    long long PyLong_AsLongLong(object value) except? -1
    double PyFloat_AsDouble(object value) except? -1.0
    bint PyUnicode_IS_COMPACT_ASCII(PyObject* text)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject* text)
    void* PyUnicode_DATA(PyObject* text)
    PyObject* Py_None
    PyObject* Py_True


cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset


cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member


cdef enum:
    MAX_DEPTH = 8

ctypedef struct Path:
    int depth
    PyTypeObject* types[MAX_DEPTH]
    Py_ssize_t offsets[MAX_DEPTH]
    # A ref leaf that may come expanded: the expanded class, and the slot of its id.
    PyTypeObject* ref_type
    Py_ssize_t ref_offset


cdef void _check(list records, Path* path, Py_ssize_t values, Py_ssize_t flags) except *:
    """The buffers must hold one value and one flag per record, and every record must be of
    the declared class: a wrong one is a caller's mistake, and reading it as missing values
    would lose its rows without a word."""
    cdef Py_ssize_t i, n = PyList_GET_SIZE(records)
    cdef PyObject* record
    if values != n or flags != n:
        raise ValueError(f"buffers of {values} and {flags} entries for {n} values")
    for i in range(n):
        record = <PyObject*>PyList_GET_ITEM(records, i)
        if Py_TYPE(record) != path.types[0]:
            raise TypeError(
                f"record {i} is a {type(<object>record).__name__}, not a "
                f"{(<object>path.types[0]).__name__}: decode the pages with the same decoder"
            )


def slot_offset(cls, str name):
    """The byte offset of field ``name`` in instances of the msgspec Struct class ``cls``."""
    descriptor = cls.__dict__[name]
    if type(descriptor).__name__ != "member_descriptor":
        raise TypeError(f"{cls.__name__}.{name} is not a slot field: {descriptor!r}")
    return (<PyMemberDescrObject*>descriptor).d_member.offset


cdef Path _path(tuple levels, object ref):
    """``levels``: ((class, offset), ...) from the record down to the leaf; ``ref``: None or
    (expanded class, offset of its id)."""
    cdef Path path
    if not 0 < len(levels) <= MAX_DEPTH:
        raise ValueError(f"a path has 1 to {MAX_DEPTH} levels, not {len(levels)}")
    path.depth = len(levels)
    for i, (cls, offset) in enumerate(levels):
        if not isinstance(cls, type):
            raise TypeError(f"level {i} of a path must be a class, not {cls!r}")
        path.types[i] = <PyTypeObject*>cls
        path.offsets[i] = offset
    path.ref_type = NULL
    path.ref_offset = 0
    if ref is not None:
        path.ref_type = <PyTypeObject*>ref[0]
        path.ref_offset = ref[1]
    return path


cdef inline PyObject* _leaf(PyObject* obj, Path* path) noexcept:
    """The value at ``path`` in ``obj`` (borrowed), or NULL where it is null or missing."""
    cdef int i
    for i in range(path.depth):
        if obj == NULL or Py_TYPE(obj) != path.types[i]:
            return NULL
        obj = (<PyObject**>((<char*>obj) + path.offsets[i]))[0]
    if obj == Py_None:
        return NULL
    if path.ref_type != NULL and obj != NULL and Py_TYPE(obj) == path.ref_type:
        obj = (<PyObject**>((<char*>obj) + path.ref_offset))[0]
        if obj == Py_None:
            return NULL
    return obj


ctypedef fused Number:
    int64_t
    double


cdef void _numbers(
    list records, Path* path, Number[::1] out, unsigned char[::1] valid
) except *:
    cdef Py_ssize_t i, n = PyList_GET_SIZE(records)
    cdef PyObject* value
    _check(records, path, out.shape[0], valid.shape[0])
    for i in range(n):
        value = _leaf(<PyObject*>PyList_GET_ITEM(records, i), path)
        if value == NULL:
            out[i] = 0
            valid[i] = 0
        else:
            if Number is int64_t:
                out[i] = PyLong_AsLongLong(<object>value)
            else:
                out[i] = PyFloat_AsDouble(<object>value)
            valid[i] = 1


def integers(list records, tuple levels, int64_t[::1] out, unsigned char[::1] valid):
    """Integer leaves into ``out`` (0 where missing) and ``valid``."""
    cdef Path path = _path(levels, None)
    _numbers(records, &path, out, valid)


def floats(list records, tuple levels, double[::1] out, unsigned char[::1] valid):
    """Number leaves into ``out`` (0.0 where missing) and ``valid``."""
    cdef Path path = _path(levels, None)
    _numbers(records, &path, out, valid)


def booleans(list records, tuple levels, unsigned char[::1] out, unsigned char[::1] valid):
    """Boolean leaves into ``out`` (0 where missing) and ``valid``."""
    cdef Path path = _path(levels, None)
    cdef Py_ssize_t i, n = PyList_GET_SIZE(records)
    cdef PyObject* value
    _check(records, &path, out.shape[0], valid.shape[0])
    for i in range(n):
        value = _leaf(<PyObject*>PyList_GET_ITEM(records, i), &path)
        out[i] = value == Py_True
        valid[i] = value != NULL


ctypedef struct Bytes:
    char* data
    Py_ssize_t used
    Py_ssize_t capacity


cdef int _append(Bytes* out, const char* text, Py_ssize_t size) except -1:
    """Append ``size`` bytes to ``out``, which doubles when full; Arrow's 32-bit offsets cap a
    chunk at 2 GiB."""
    cdef char* grown
    if out.used + size > 0x7FFFFFFF:
        raise OverflowError("more than 2 GiB of text in one chunk")
    if out.used + size > out.capacity:
        out.capacity = max(2 * out.capacity, out.used + size, 4096)
        grown = <char*>realloc(out.data, out.capacity)
        if grown == NULL:
            raise MemoryError()
        out.data = grown
    memcpy(out.data + out.used, text, size)
    out.used += size
    return 0


def strings(
    list records, tuple levels, object ref, int32_t[::1] out, unsigned char[::1] valid
):
    """Text leaves as Arrow string buffers: offsets into ``out`` (one more than the records),
    validity into ``valid``; returns the UTF-8 data."""
    cdef Path path = _path(levels, ref)
    cdef Py_ssize_t i, size, n = PyList_GET_SIZE(records)
    cdef Bytes data = Bytes(NULL, 0, 0)
    cdef PyObject* value
    _check(records, &path, out.shape[0] - 1, valid.shape[0])
    out[0] = 0
    try:
        for i in range(n):
            value = _leaf(<PyObject*>PyList_GET_ITEM(records, i), &path)
            valid[i] = value != NULL
            if value != NULL:
                if not PyUnicode_Check(value):
                    raise TypeError(f"expected text, found {type(<object>value).__name__}")
                _append(&data, _utf8(value, &size), size)
            out[i + 1] = <int32_t>data.used
        return PyBytes_FromStringAndSize(data.data, data.used)
    finally:
        free(data.data)


cdef inline const char* _utf8(PyObject* text, Py_ssize_t* size) except NULL:
    """The UTF-8 bytes of ``text``: for ASCII text (ids, codes) its own buffer, read in place."""
    if PyUnicode_IS_COMPACT_ASCII(text):
        size[0] = PyUnicode_GET_LENGTH(text)
        return <const char*>PyUnicode_DATA(text)
    return PyUnicode_AsUTF8AndSize(<object>text, size)


cdef inline bint _empty_json(const unsigned char* text, Py_ssize_t size) noexcept:
    """Whether raw JSON is nothing, ``null`` or an empty object (whitespace aside)."""
    cdef Py_ssize_t start = 0, end = size
    while start < end and text[start] in b" \t\r\n":
        start += 1
    while end > start and text[end - 1] in b" \t\r\n":
        end -= 1
    if end == start:
        return True
    if end - start == 4 and memcmp(text + start, b"null", 4) == 0:
        return True
    if text[start] != b"{" or text[end - 1] != b"}":
        return False
    start += 1
    while start < end - 1 and text[start] in b" \t\r\n":
        start += 1
    return start == end - 1


def blobs(list records, tuple levels, int32_t[::1] out, unsigned char[::1] valid):
    """Raw JSON leaves (``msgspec.Raw``, or anything with a byte buffer) as Arrow binary
    buffers, like :func:`strings`; nothing, ``null`` and ``{}`` count as missing."""
    cdef Path path = _path(levels, None)
    cdef Py_ssize_t i, n = PyList_GET_SIZE(records)
    cdef Bytes data = Bytes(NULL, 0, 0)
    cdef PyObject* value
    cdef Py_buffer view
    _check(records, &path, out.shape[0] - 1, valid.shape[0])
    out[0] = 0
    try:
        for i in range(n):
            value = _leaf(<PyObject*>PyList_GET_ITEM(records, i), &path)
            valid[i] = 0
            if value != NULL:
                PyObject_GetBuffer(<object>value, &view, PyBUF_SIMPLE)
                try:
                    if not _empty_json(<const unsigned char*>view.buf, view.len):
                        _append(&data, <const char*>view.buf, view.len)
                        valid[i] = 1
                finally:
                    PyBuffer_Release(&view)
            out[i + 1] = <int32_t>data.used
        return PyBytes_FromStringAndSize(data.data, data.used)
    finally:
        free(data.data)


cdef enum:
    MEMO_SLOTS = 256


ctypedef struct Memo:
    PyObject* text  # a strong reference while the slot is filled
    const char* utf8
    Py_ssize_t size
    int32_t code


cdef inline Py_ssize_t _memo_slot(const char* text, Py_ssize_t size) noexcept:
    """A slot for ``text`` from its size and its first and last 8 bytes (not a full hash: a
    slot only spares the dictionary lookup when the whole text compares equal)."""
    cdef uint64_t head = 0, tail = 0
    cdef Py_ssize_t k
    if size >= 8:
        memcpy(&head, text, 8)
        memcpy(&tail, text + size - 8, 8)
    else:
        for k in range(size):
            head |= (<uint64_t>(<unsigned char>text[k])) << (8 * k)
    return <Py_ssize_t>(((head * 31 + tail) * 0x9E3779B97F4A7C15ULL + <uint64_t>size) >> 56)


def codes(
    list records, tuple levels, object ref, dict seen, int32_t[::1] out
):
    """Category leaves as codes into ``out`` (-1 where missing), numbered by ``seen``
    (value -> code), which gains each new value with the next code.

    A category column holds few distinct values, each decoded afresh per record: hashing every
    one for the dictionary costs more than the rest of the column. A small table of recent values
    (compared byte for byte) answers most of them without hashing.
    """
    cdef Path path = _path(levels, ref)
    cdef Py_ssize_t i, slot, size, n = PyList_GET_SIZE(records)
    cdef PyObject* value
    cdef PyObject* code
    cdef const char* text
    cdef int32_t number
    cdef Memo memo[MEMO_SLOTS]
    _check(records, &path, out.shape[0], out.shape[0])
    memset(memo, 0, sizeof(memo))
    try:
        for i in range(n):
            value = _leaf(<PyObject*>PyList_GET_ITEM(records, i), &path)
            if value == NULL:
                out[i] = -1
                continue
            if not PyUnicode_Check(value):
                raise TypeError(f"expected text, found {type(<object>value).__name__}")
            text = _utf8(value, &size)
            slot = _memo_slot(text, size)
            if memo[slot].text != NULL and memo[slot].size == size and memcmp(
                memo[slot].utf8, text, size
            ) == 0:
                out[i] = memo[slot].code
                continue
            code = PyDict_GetItem(seen, <object>value)
            if code == NULL:
                number = <int32_t>len(seen)
                PyDict_SetItem(seen, <object>value, number)
            else:
                number = <int32_t>PyLong_AsLongLong(<object>code)
            out[i] = number
            Py_XDECREF(memo[slot].text)
            Py_INCREF(<object>value)
            memo[slot].text = value
            memo[slot].utf8 = text
            memo[slot].size = size
            memo[slot].code = number
    finally:
        for slot in range(MEMO_SLOTS):
            Py_XDECREF(memo[slot].text)