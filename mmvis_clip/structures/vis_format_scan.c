/*
 * Scans of raw YouTube-VIS json, compiled: the per-frame and per-byte
 * loops of mmvis_clip/utils/vis_format.py (see there for the Python API).
 *
 * frame_kinds() sorts a track's frame segmentations by the way their run
 * lengths are checked; may_hold_long_integer() finds json text that may
 * hold an integer orjson would read as a float.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Kinds, as vis_format._STRING, _LIST and _OTHER. */
enum { STRING = 0, LIST = 1, OTHER = 2 };

static int is_int_equal(PyObject *value, long long expected) {
    int overflow = 0;
    long long v;
    if (!PyLong_CheckExact(value))
        return 0;
    v = PyLong_AsLongLongAndOverflow(value, &overflow);
    return !overflow && v == expected;
}

/* The kind of a present frame: a dict whose "size" is the list [height,
 * width] of two ints, with "counts" a str (STRING) or a list (LIST); else
 * OTHER. */
static int8_t frame_kind(PyObject *seg, long long height, long long width) {
    PyObject *size, *counts;
    if (!PyDict_CheckExact(seg))
        return OTHER;
    size = PyDict_GetItemString(seg, "size");
    counts = PyDict_GetItemString(seg, "counts");
    if (!size || !PyList_CheckExact(size) || PyList_GET_SIZE(size) != 2 ||
        !is_int_equal(PyList_GET_ITEM(size, 0), height) ||
        !is_int_equal(PyList_GET_ITEM(size, 1), width))
        return OTHER;
    if (counts && PyUnicode_CheckExact(counts))
        return STRING;
    if (counts && PyList_CheckExact(counts))
        return LIST;
    return OTHER;
}

/* frame_kinds(segmentations, height, width, first_slot)
 * -> (slots: list[int], kinds: bytes, present: bytes) */
static PyObject *frame_kinds(PyObject *self, PyObject *args) {
    PyObject *segs, *seq = NULL, *slots = NULL, *kinds = NULL,
             *present = NULL, *result = NULL;
    long long height, width;
    Py_ssize_t first, num, i, count = 0;
    char *kind_data, *present_data;
    if (!PyArg_ParseTuple(args, "OLLn", &segs, &height, &width, &first))
        return NULL;
    seq = PySequence_Fast(segs, "segmentations must be a sequence");
    if (!seq)
        return NULL;
    num = PySequence_Fast_GET_SIZE(seq);
    slots = PyList_New(num);
    kinds = PyBytes_FromStringAndSize(NULL, num);
    present = PyBytes_FromStringAndSize(NULL, num);
    if (!slots || !kinds || !present)
        goto done;
    kind_data = PyBytes_AS_STRING(kinds);
    present_data = PyBytes_AS_STRING(present);
    for (i = 0; i < num; i++) {
        PyObject *seg = PySequence_Fast_GET_ITEM(seq, i), *slot;
        int absent = PyObject_Not(seg);
        if (absent < 0)
            goto done;
        present_data[i] = !absent;
        slot = PyLong_FromSsize_t(absent ? -1 : first + count);
        if (!slot)
            goto done;
        PyList_SET_ITEM(slots, i, slot);
        if (!absent)
            kind_data[count++] = frame_kind(seg, height, width);
    }
    {
        PyObject *trimmed = PyBytes_FromStringAndSize(kind_data, count);
        if (!trimmed)
            goto done;
        Py_DECREF(kinds);
        kinds = trimmed;
    }
    result = PyTuple_Pack(3, slots, kinds, present);
done:
    Py_DECREF(seq);
    Py_XDECREF(slots);
    Py_XDECREF(kinds);
    Py_XDECREF(present);
    return result;
}

/* Byte classes around json numbers. */
enum { C_OTHER = 0, C_DIGIT = 1, C_BOTH = 2, C_BEFORE = 3, C_AFTER = 4 };

/* may_hold_long_integer(data) -> bool: a run of 19 digits or more (a
 * leading '-' counted) with what may precede a json number before it (',',
 * white space, '[', ':', or the start) and what may follow one after it
 * (',', white space, ']', '}', or the end). */
static PyObject *may_hold_long_integer(PyObject *self, PyObject *arg) {
    Py_buffer buf;
    unsigned char classes[256] = {0};
    const unsigned char *s;
    Py_ssize_t n, i, run = 0;
    int before = C_BOTH, found = 0;
    const char *p;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0)
        return NULL;
    for (p = "0123456789-"; *p; p++)
        classes[(unsigned char)*p] = C_DIGIT;
    for (p = ", \t\r\n"; *p; p++)
        classes[(unsigned char)*p] = C_BOTH;
    classes['['] = classes[':'] = C_BEFORE;
    classes[']'] = classes['}'] = C_AFTER;
    s = buf.buf;
    n = buf.len;
    for (i = 0; i < n && !found; i++) {
        unsigned char c = classes[s[i]];
        if (c == C_DIGIT) {
            run++;
            continue;
        }
        if (run >= 19 && (before == C_BOTH || before == C_BEFORE) &&
            (c == C_BOTH || c == C_AFTER))
            found = 1;
        run = 0;
        before = c;
    }
    if (run >= 19 && (before == C_BOTH || before == C_BEFORE))
        found = 1; /* at the end */
    PyBuffer_Release(&buf);
    return PyBool_FromLong(found);
}

static PyMethodDef methods[] = {
    {"frame_kinds", frame_kinds, METH_VARARGS,
     "frame_kinds(segmentations, height, width, first_slot) -> (slots, "
     "kinds, present): per frame its slot (-1: absent, a falsy value), per "
     "present frame its kind (0 str counts, 1 list counts, 2 other), per "
     "frame 1 if present."},
    {"may_hold_long_integer", may_hold_long_integer, METH_O,
     "may_hold_long_integer(data) -> bool: json text with a run of 19 "
     "digits or more where a number may stand."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_vis_format_scan",
                                    "Scans of raw YouTube-VIS json.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__vis_format_scan(void) {
    return PyModule_Create(&module);
}
