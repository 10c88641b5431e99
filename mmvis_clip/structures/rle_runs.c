/*
 * Run lengths of COCO RLE masks, many at once: the compiled part of
 * mmvis_clip/utils/rle.py (see there for the Python API).
 *
 * decode_counts(items) decodes compressed "counts" strings as pycocotools'
 * rleFrString does, and says what is wrong with each one; intersections()
 * sums, per pair of mask tracks, the pixels their frames share. Arrays cross
 * the boundary as bytes of native int64 / int8, read with NumPy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* A number of a compressed string has at most this many characters (5 bits
 * each: pycocotools' 64-bit long). Kept equal to rle.MAX_NUMBER_CHARS. */
#define MAX_NUMBER_CHARS 12

/* Problem codes, as rle.COUNTS_STRING_PROBLEMS lists them. */
enum { OK = 0, NON_ASCII = 1, OUTSIDE = 2, TRUNCATED = 3, TOO_LONG = 4 };

/* The characters of item i, or NULL with *problem set (non-ASCII str). */
static const unsigned char *item_chars(PyObject *item, Py_ssize_t *length,
                                       int8_t *problem) {
    if (PyBytes_Check(item)) {
        *length = PyBytes_GET_SIZE(item);
        return (const unsigned char *)PyBytes_AS_STRING(item);
    }
    if (PyUnicode_Check(item)) {
        if (!PyUnicode_IS_ASCII(item)) {
            *problem = NON_ASCII;
            *length = 0;
            return NULL;
        }
        *length = PyUnicode_GET_LENGTH(item);
        return (const unsigned char *)PyUnicode_1BYTE_DATA(item);
    }
    PyErr_Format(PyExc_TypeError, "counts must be str or bytes, not %.100s",
                 Py_TYPE(item)->tp_name);
    return NULL;
}

/* Check one string; its problem code, and the numbers it holds. One
 * loop: the problems' order (OUTSIDE before TRUNCATED before TOO_LONG) is
 * kept by deciding after it. */
static int8_t check_string(const unsigned char *s, Py_ssize_t n,
                           Py_ssize_t *numbers) {
    Py_ssize_t i, count = 0, chars = 0;
    unsigned int outside = 0, too_long = 0;
    for (i = 0; i < n; i++) {
        unsigned int c = (unsigned int)s[i] - 48u;
        unsigned int last = c < 32u; /* the last of a number */
        outside |= c > 63u;
        chars++;
        too_long |= last & (chars > MAX_NUMBER_CHARS);
        count += last;
        chars = last ? 0 : chars;
    }
    if (outside)
        return OUTSIDE;
    if (n && ((unsigned int)s[n - 1] - 48u) >= 32u)
        return TRUNCATED;
    if (too_long)
        return TOO_LONG;
    *numbers = count;
    return OK;
}

static PyObject *new_bytes(Py_ssize_t size, char **data) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out)
        *data = PyBytes_AS_STRING(out);
    return out;
}

/* decode_counts(items) -> (runs, offsets, problems, totals, smallest,
 * areas) */
static PyObject *decode_counts(PyObject *self, PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "items must be a sequence");
    PyObject *result = NULL, *runs_b = NULL, *offsets_b = NULL,
             *problems_b = NULL, *totals_b = NULL, *smallest_b = NULL,
             *areas_b = NULL;
    Py_ssize_t num, i, total_numbers = 0;
    int64_t *runs = NULL, *offsets = NULL, *totals = NULL, *smallest = NULL,
            *areas = NULL;
    int8_t *problems = NULL;
    if (!seq)
        return NULL;
    num = PySequence_Fast_GET_SIZE(seq);
    offsets_b = new_bytes((num + 1) * 8, (char **)&offsets);
    problems_b = new_bytes(num, (char **)&problems);
    totals_b = new_bytes(num * 8, (char **)&totals);
    smallest_b = new_bytes(num * 8, (char **)&smallest);
    areas_b = new_bytes(num * 8, (char **)&areas);
    if (!offsets_b || !problems_b || !totals_b || !smallest_b || !areas_b)
        goto done;
    /* pass 1: the problem and the numbers of each string */
    offsets[0] = 0;
    for (i = 0; i < num; i++) {
        Py_ssize_t length, numbers = 0;
        int8_t problem = OK;
        const unsigned char *s =
            item_chars(PySequence_Fast_GET_ITEM(seq, i), &length, &problem);
        if (!s && problem == OK)
            goto done; /* TypeError */
        if (s)
            problem = check_string(s, length, &numbers);
        problems[i] = problem;
        total_numbers += problem == OK ? numbers : 0;
        offsets[i + 1] = total_numbers;
    }
    runs_b = new_bytes(total_numbers * 8, (char **)&runs);
    if (!runs_b)
        goto done;
    /* pass 2: decode the strings without a problem */
    for (i = 0; i < num; i++) {
        Py_ssize_t length, p = 0, m = 0;
        int8_t problem = OK;
        const unsigned char *s;
        int64_t *out = runs + offsets[i];
        uint64_t sum = 0, odd = 0;
        int64_t least = 0;
        totals[i] = smallest[i] = areas[i] = 0;
        if (problems[i] != OK)
            continue;
        s = item_chars(PySequence_Fast_GET_ITEM(seq, i), &length, &problem);
        while (p < length) {
            uint64_t x = 0;
            int k = 0;
            unsigned int c;
            do {
                c = (unsigned int)s[p++] - 48u;
                x |= (uint64_t)(c & 0x1fu) << (5 * k);
                k++;
            } while (c & 0x20u);
            if (c & 0x10u) /* the sign bit of the last character */
                x |= ~(uint64_t)0 << (5 * k);
            if (m > 2)
                x += (uint64_t)out[m - 2];
            out[m] = (int64_t)x;
            sum += x;
            if (m & 1)
                odd += x;
            if (m == 0 || (int64_t)x < least)
                least = (int64_t)x;
            m++;
        }
        totals[i] = (int64_t)sum;
        smallest[i] = least;
        areas[i] = (int64_t)odd;
    }
    result = PyTuple_Pack(6, runs_b, offsets_b, problems_b, totals_b,
                          smallest_b, areas_b);
done:
    Py_DECREF(seq);
    Py_XDECREF(runs_b);
    Py_XDECREF(offsets_b);
    Py_XDECREF(problems_b);
    Py_XDECREF(totals_b);
    Py_XDECREF(smallest_b);
    Py_XDECREF(areas_b);
    return result;
}

/* encode_counts(runs, offsets) -> list[bytes]: each mask's runs as the
 * compressed counts string pycocotools' rleToString writes (runs from the
 * fourth on as the difference to the run two before, 5 bits a character,
 * offset 48). Runs must lie in [0, 2^32), as pycocotools holds them. */
static PyObject *encode_counts(PyObject *self, PyObject *args) {
    PyObject *runs_o, *offsets_o, *out = NULL;
    Py_buffer runs_b, offsets_b;
    Py_ssize_t num, i, longest = 0;
    char *text = NULL;
    if (!PyArg_ParseTuple(args, "OO", &runs_o, &offsets_o))
        return NULL;
    if (PyObject_GetBuffer(runs_o, &runs_b, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (PyObject_GetBuffer(offsets_o, &offsets_b, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&runs_b);
        return NULL;
    }
    {
        const int64_t *runs = runs_b.buf, *offsets = offsets_b.buf;
        num = offsets_b.len / 8 - 1;
        for (i = 0; i < num; i++) {
            if (offsets[i + 1] - offsets[i] > longest)
                longest = offsets[i + 1] - offsets[i];
        }
        text = PyMem_Malloc(longest * 7 + 1);
        out = PyList_New(num > 0 ? num : 0);
        if (!text || !out) {
            Py_CLEAR(out);
            if (!text)
                PyErr_NoMemory();
            goto done;
        }
        for (i = 0; i < num; i++) {
            const int64_t *r = runs + offsets[i];
            Py_ssize_t m = offsets[i + 1] - offsets[i], k, p = 0;
            PyObject *item;
            for (k = 0; k < m; k++) {
                int64_t x = r[k];
                int more = 1;
                if (k > 2)
                    x -= r[k - 2];
                while (more) {
                    char c = (char)(x & 0x1f);
                    x >>= 5; /* arithmetic: the sign stays */
                    more = (c & 0x10) ? x != -1 : x != 0;
                    if (more)
                        c |= 0x20;
                    text[p++] = (char)(c + 48);
                }
            }
            item = PyBytes_FromStringAndSize(text, p);
            if (!item) {
                Py_CLEAR(out);
                goto done;
            }
            PyList_SET_ITEM(out, i, item);
        }
    }
done:
    PyMem_Free(text);
    PyBuffer_Release(&runs_b);
    PyBuffer_Release(&offsets_b);
    return out;
}

/* int_lists(lists) -> (runs, offsets, exact, totals, smallest, areas): the
 * lists of Python ints as one int64 array; exact[i] (int8) is 0 for a list
 * holding anything but an int (bool neither) or an int beyond int64, whose
 * runs are then left out; per list the sum of its runs, its smallest run
 * (0 for none) and the sum of those at odd positions, in 64-bit arithmetic
 * (as rle.run_totals). */
static PyObject *int_lists(PyObject *self, PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "lists must be a sequence");
    PyObject *result = NULL, *runs_b = NULL, *offsets_b = NULL,
             *exact_b = NULL, *totals_b = NULL, *smallest_b = NULL,
             *areas_b = NULL;
    Py_ssize_t num, i, j, total = 0, allocated;
    int64_t *runs = NULL, *offsets = NULL, *totals = NULL, *smallest = NULL,
            *areas = NULL;
    int8_t *exact = NULL;
    if (!seq)
        return NULL;
    num = PySequence_Fast_GET_SIZE(seq);
    for (i = 0; i < num; i++) {
        PyObject *list = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyList_Check(list)) {
            PyErr_SetString(PyExc_TypeError, "lists must hold lists");
            goto done;
        }
        total += PyList_GET_SIZE(list);
    }
    allocated = total;
    runs_b = new_bytes(total * 8, (char **)&runs);
    offsets_b = new_bytes((num + 1) * 8, (char **)&offsets);
    exact_b = new_bytes(num, (char **)&exact);
    totals_b = new_bytes(num * 8, (char **)&totals);
    smallest_b = new_bytes(num * 8, (char **)&smallest);
    areas_b = new_bytes(num * 8, (char **)&areas);
    if (!runs_b || !offsets_b || !exact_b || !totals_b || !smallest_b ||
        !areas_b)
        goto done;
    total = 0;
    offsets[0] = 0;
    for (i = 0; i < num; i++) {
        PyObject *list = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t n = PyList_GET_SIZE(list);
        int8_t ok = 1;
        uint64_t sum = 0, odd = 0;
        int64_t least = 0;
        for (j = 0; j < n; j++) {
            PyObject *item = PyList_GET_ITEM(list, j);
            int overflow = 0;
            long long value;
            if (!PyLong_CheckExact(item)) {
                ok = 0;
                break;
            }
            value = PyLong_AsLongLongAndOverflow(item, &overflow);
            if (overflow) {
                ok = 0;
                break;
            }
            runs[total + j] = (int64_t)value;
            sum += (uint64_t)value;
            if (j & 1)
                odd += (uint64_t)value;
            if (j == 0 || (int64_t)value < least)
                least = (int64_t)value;
        }
        exact[i] = ok;
        totals[i] = ok ? (int64_t)sum : 0;
        smallest[i] = ok ? least : 0;
        areas[i] = ok ? (int64_t)odd : 0;
        total += ok ? n : 0;
        offsets[i + 1] = total;
    }
    if (total < allocated) { /* lists left out */
        PyObject *trimmed = PyBytes_FromStringAndSize((char *)runs, total * 8);
        if (!trimmed)
            goto done;
        Py_DECREF(runs_b);
        runs_b = trimmed;
    }
    result = PyTuple_Pack(6, runs_b, offsets_b, exact_b, totals_b,
                          smallest_b, areas_b);
done:
    Py_DECREF(seq);
    Py_XDECREF(runs_b);
    Py_XDECREF(offsets_b);
    Py_XDECREF(exact_b);
    Py_XDECREF(totals_b);
    Py_XDECREF(smallest_b);
    Py_XDECREF(areas_b);
    return result;
}

/* Pixels shared by two masks given by their runs (background first). */
static int64_t intersect_runs(const int64_t *a, Py_ssize_t na,
                              const int64_t *b, Py_ssize_t nb) {
    /* walk the foreground intervals [start, end) of both in order */
    Py_ssize_t i = 1, j = 1;
    int64_t a_start, a_end, b_start, b_end, shared = 0;
    if (na < 2 || nb < 2)
        return 0;
    a_start = a[0];
    a_end = a_start + a[1];
    b_start = b[0];
    b_end = b_start + b[1];
    for (;;) {
        int64_t lo = a_start > b_start ? a_start : b_start;
        int64_t hi = a_end < b_end ? a_end : b_end;
        if (hi > lo)
            shared += hi - lo;
        if (a_end <= b_end) {
            if (i + 2 >= na)
                break;
            a_start = a_end + a[i + 1];
            a_end = a_start + a[i + 2];
            i += 2;
        } else {
            if (j + 2 >= nb)
                break;
            b_start = b_end + b[j + 1];
            b_end = b_start + b[j + 2];
            j += 2;
        }
    }
    return shared;
}

/* First and one-past-last foreground pixel of a mask (0, 0 if empty). */
static void foreground_span(const int64_t *r, Py_ssize_t n, int64_t *first,
                            int64_t *last) {
    int64_t position = 0;
    Py_ssize_t k;
    *first = *last = 0;
    for (k = 0; k < n; k++) {
        if ((k & 1) && r[k] > 0) {
            if (*last == 0)
                *first = position;
            *last = position + r[k];
        }
        position += r[k];
    }
}

typedef struct {
    Py_buffer runs, offsets, slots;
} Tracks;

static int get_tracks(PyObject *runs, PyObject *offsets, PyObject *slots,
                      Tracks *t) {
    memset(t, 0, sizeof(*t));
    if (PyObject_GetBuffer(runs, &t->runs, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (PyObject_GetBuffer(offsets, &t->offsets, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (PyObject_GetBuffer(slots, &t->slots, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (t->runs.len % 8 || t->offsets.len % 8 || t->slots.len % 8 ||
        t->offsets.len < 8) {
        PyErr_SetString(PyExc_ValueError,
                        "runs, offsets and slots must hold int64");
        return -1;
    }
    return 0;
}

static void release_tracks(Tracks *t) {
    if (t->runs.obj)
        PyBuffer_Release(&t->runs);
    if (t->offsets.obj)
        PyBuffer_Release(&t->offsets);
    if (t->slots.obj)
        PyBuffer_Release(&t->slots);
}

/* The foreground spans of the slots a track set uses: (count, 2). */
static int64_t *track_spans(const Tracks *t, Py_ssize_t count) {
    const int64_t *runs = t->runs.buf, *offsets = t->offsets.buf,
                  *slots = t->slots.buf;
    Py_ssize_t k, num_masks = t->offsets.len / 8 - 1;
    int64_t *spans = PyMem_Malloc((count ? count : 1) * 2 * sizeof(int64_t));
    if (!spans) {
        PyErr_NoMemory();
        return NULL;
    }
    for (k = 0; k < count; k++) {
        int64_t slot = slots[k];
        spans[2 * k] = spans[2 * k + 1] = 0;
        if (slot < 0)
            continue;
        if (slot >= num_masks || offsets[slot] < 0 ||
            offsets[slot + 1] > (int64_t)(t->runs.len / 8) ||
            offsets[slot + 1] < offsets[slot]) {
            PyMem_Free(spans);
            PyErr_SetString(PyExc_IndexError, "slot outside the runs");
            return NULL;
        }
        foreground_span(runs + offsets[slot], offsets[slot + 1] - offsets[slot],
                        spans + 2 * k, spans + 2 * k + 1);
    }
    return spans;
}

/* intersections(dt_runs, dt_offsets, dt_slots, gt_runs, gt_offsets,
 *               gt_slots, num_frames) -> bytes of (D, G) int64 */
static PyObject *intersections(PyObject *self, PyObject *args) {
    PyObject *dr, *dof, *ds, *gr, *gof, *gs, *out = NULL;
    Py_ssize_t num_frames, num_dt, num_gt, d, g, f;
    Tracks dt, gt;
    int64_t *dt_spans = NULL, *gt_spans = NULL, *shared;
    if (!PyArg_ParseTuple(args, "OOOOOOn", &dr, &dof, &ds, &gr, &gof, &gs,
                          &num_frames))
        return NULL;
    memset(&dt, 0, sizeof(dt));
    memset(&gt, 0, sizeof(gt));
    if (get_tracks(dr, dof, ds, &dt) < 0 || get_tracks(gr, gof, gs, &gt) < 0)
        goto done;
    if (num_frames < 1 || (dt.slots.len / 8) % num_frames ||
        (gt.slots.len / 8) % num_frames) {
        PyErr_SetString(PyExc_ValueError,
                        "slots must be (tracks, num_frames) arrays");
        goto done;
    }
    num_dt = dt.slots.len / 8 / num_frames;
    num_gt = gt.slots.len / 8 / num_frames;
    dt_spans = track_spans(&dt, num_dt * num_frames);
    if (!dt_spans)
        goto done;
    gt_spans = track_spans(&gt, num_gt * num_frames);
    if (!gt_spans)
        goto done;
    out = new_bytes(num_dt * num_gt * 8, (char **)&shared);
    if (!out)
        goto done;
    memset(shared, 0, num_dt * num_gt * 8);
    {
        const int64_t *d_runs = dt.runs.buf, *d_off = dt.offsets.buf,
                      *d_slots = dt.slots.buf, *g_runs = gt.runs.buf,
                      *g_off = gt.offsets.buf, *g_slots = gt.slots.buf;
        for (d = 0; d < num_dt; d++) {
            for (f = 0; f < num_frames; f++) {
                Py_ssize_t dk = d * num_frames + f;
                int64_t ds_ = d_slots[dk];
                const int64_t *dspan = dt_spans + 2 * dk;
                if (ds_ < 0 || dspan[1] == 0)
                    continue;
                for (g = 0; g < num_gt; g++) {
                    Py_ssize_t gk = g * num_frames + f;
                    int64_t gs_ = g_slots[gk];
                    const int64_t *gspan = gt_spans + 2 * gk;
                    if (gs_ < 0 || gspan[1] == 0 || gspan[0] >= dspan[1] ||
                        dspan[0] >= gspan[1])
                        continue;
                    shared[d * num_gt + g] += intersect_runs(
                        d_runs + d_off[ds_], d_off[ds_ + 1] - d_off[ds_],
                        g_runs + g_off[gs_], g_off[gs_ + 1] - g_off[gs_]);
                }
            }
        }
    }
done:
    PyMem_Free(dt_spans);
    PyMem_Free(gt_spans);
    release_tracks(&dt);
    release_tracks(&gt);
    return out;
}

static PyMethodDef methods[] = {
    {"decode_counts", decode_counts, METH_O,
     "decode_counts(items) -> (runs, offsets, problems, totals, smallest, "
     "areas): compressed COCO RLE counts strings decoded, as bytes of int64 "
     "(problems: int8)."},
    {"encode_counts", encode_counts, METH_VARARGS,
     "encode_counts(runs, offsets) -> list[bytes]: compressed counts "
     "strings, as pycocotools writes them."},
    {"int_lists", int_lists, METH_O,
     "int_lists(lists) -> (runs, offsets, exact, totals, smallest, areas): "
     "lists of ints as one int64 array (bytes); exact (int8) is 0 for a "
     "list with anything else or an int beyond int64, left out of runs."},
    {"intersections", intersections, METH_VARARGS,
     "intersections(dt_runs, dt_offsets, dt_slots, gt_runs, gt_offsets, "
     "gt_slots, num_frames) -> bytes of (D, G) int64: pixels shared by "
     "each pair of tracks, summed over frames."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rle_runs",
                                    "Run lengths of COCO RLE masks.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__rle_runs(void) { return PyModule_Create(&module); }
