/*
 * The greedy matching of the COCO / YouTube-VIS evaluation, compiled: the
 * inner loop of vis_eval.VISEval._match (see there for the Python API).
 *
 * For each subset s and IoU threshold t, predictions in the given order
 * (by decreasing score) take the ground truth of the highest IoU >= the
 * threshold that is not yet taken (crowd ground truth can be taken again):
 * a regular one first, an ignored one only failing that, the last of equal
 * IoUs. Arrays cross the boundary as bytes (float64, int8).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* greedy_match(ious, crowd, gt_ignored, dt_outside, thresholds,
 *              num_dt, num_gt, num_subsets)
 * -> (dt_matched, dt_ignored): bytes of (S, T, D) int8 */
static PyObject *greedy_match(PyObject *self, PyObject *args) {
    Py_buffer ious_b, crowd_b, ignored_b, outside_b, thr_b;
    Py_ssize_t num_dt, num_gt, num_sub, num_thr, s, t, d, g;
    PyObject *matched_o = NULL, *dt_ign_o = NULL, *result = NULL;
    int8_t *matched, *dt_ign, *taken = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*nnn", &ious_b, &crowd_b,
                          &ignored_b, &outside_b, &thr_b, &num_dt, &num_gt,
                          &num_sub))
        return NULL;
    num_thr = thr_b.len / 8;
    if (ious_b.len != num_dt * num_gt * 8 || crowd_b.len != num_gt ||
        ignored_b.len != num_sub * num_gt ||
        outside_b.len != num_sub * num_dt || thr_b.len % 8) {
        PyErr_SetString(PyExc_ValueError, "greedy_match: array sizes");
        goto done;
    }
    matched_o = PyBytes_FromStringAndSize(NULL, num_sub * num_thr * num_dt);
    dt_ign_o = PyBytes_FromStringAndSize(NULL, num_sub * num_thr * num_dt);
    taken = PyMem_Malloc(num_gt ? num_gt : 1);
    if (!matched_o || !dt_ign_o || !taken) {
        if (!taken)
            PyErr_NoMemory();
        goto done;
    }
    matched = (int8_t *)PyBytes_AS_STRING(matched_o);
    dt_ign = (int8_t *)PyBytes_AS_STRING(dt_ign_o);
    memset(matched, 0, num_sub * num_thr * num_dt);
    memset(dt_ign, 0, num_sub * num_thr * num_dt);
    {
        const double *ious = ious_b.buf, *thr = thr_b.buf;
        const int8_t *crowd = crowd_b.buf, *gt_ignored = ignored_b.buf,
                     *outside = outside_b.buf;
        for (s = 0; s < num_sub; s++) {
            const int8_t *ignored = gt_ignored + s * num_gt;
            for (t = 0; t < num_thr; t++) {
                int8_t *m = matched + (s * num_thr + t) * num_dt;
                int8_t *ig = dt_ign + (s * num_thr + t) * num_dt;
                memset(taken, 0, num_gt ? num_gt : 1);
                for (d = 0; d < num_dt; d++) {
                    const double *row = ious + d * num_gt;
                    Py_ssize_t best_regular = -1, best_ignored = -1, best;
                    double regular_iou = 0, ignored_iou = 0;
                    for (g = 0; g < num_gt; g++) {
                        double iou = row[g];
                        if (!(iou >= thr[t]) || (taken[g] && !crowd[g]))
                            continue;
                        if (ignored[g]) {
                            if (best_ignored < 0 || iou >= ignored_iou) {
                                best_ignored = g;
                                ignored_iou = iou;
                            }
                        } else if (best_regular < 0 || iou >= regular_iou) {
                            best_regular = g;
                            regular_iou = iou;
                        }
                    }
                    best = best_regular >= 0 ? best_regular : best_ignored;
                    if (best >= 0) {
                        m[d] = 1;
                        ig[d] = ignored[best] ? 1 : 0;
                        taken[best] = 1;
                    } else if (outside[s * num_dt + d]) {
                        ig[d] = 1;
                    }
                }
            }
        }
    }
    result = PyTuple_Pack(2, matched_o, dt_ign_o);
done:
    PyMem_Free(taken);
    Py_XDECREF(matched_o);
    Py_XDECREF(dt_ign_o);
    PyBuffer_Release(&ious_b);
    PyBuffer_Release(&crowd_b);
    PyBuffer_Release(&ignored_b);
    PyBuffer_Release(&outside_b);
    PyBuffer_Release(&thr_b);
    return result;
}

static PyMethodDef methods[] = {
    {"greedy_match", greedy_match, METH_VARARGS,
     "greedy_match(ious, crowd, gt_ignored, dt_outside, thresholds, num_dt, "
     "num_gt, num_subsets) -> (dt_matched, dt_ignored): bytes of (S, T, D) "
     "int8."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_greedy_match",
                                    "COCO greedy matching.", -1, methods};

PyMODINIT_FUNC PyInit__greedy_match(void) { return PyModule_Create(&module); }
