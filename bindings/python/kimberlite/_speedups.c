/* kimberlite._speedups: Client.read in one foreign call instead of ctypes' several.
 *
 * Through ctypes a read costs, besides the library call itself, a handful of foreign calls (the
 * _async start, the waiter, string_at, kmb_events_free) and the Python code that builds the
 * Event list; here the library call, the copy into Python objects and the free happen in C.
 *
 * The module does not link libkimberlite: init() receives the addresses of the functions in the
 * copy that ctypes loaded (kimberlite._native), so both always use the same library, and so a
 * second Go runtime can never be loaded into the process. It uses only the limited C API of
 * Python 3.10, so one build serves every later CPython (an abi3 wheel).
 *
 * Errors come back as the library's status (an int), never raised here: the caller builds the
 * exception from this thread's last error as for every other call (kimberlite._ffi.last_error).
 */
#define Py_LIMITED_API 0x030A0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include "kimberlite.h"

typedef kmb_status_t (*read_fn)(kmb_client_t *, uint64_t, uint64_t, uint64_t, kmb_events_t **);
typedef kmb_status_t (*read_async_fn)(kmb_client_t *, uint64_t, uint64_t, uint64_t,
                                      kmb_events_callback_t, void *);
typedef void (*events_free_fn)(kmb_events_t *);
typedef int (*waiter_wait_fn)(kmb_waiter_t *, uint32_t);
typedef kmb_status_t (*waiter_finish_fn)(kmb_waiter_t *, uint64_t *, void **);

/* What init() set; every entry point refuses to run before it. */
static struct {
    read_fn read;
    read_async_fn read_async;
    events_free_fn events_free;
    waiter_wait_fn waiter_wait;
    waiter_finish_fn waiter_finish;
    kmb_events_callback_t events_callback; /* kmb_waiter_events_callback */
    PyObject *event_type;                  /* kimberlite.types.Event */
    PyObject *result_type;                 /* kimberlite.types.ReadResult */
    uint32_t slice_ms;                     /* longest wait without running signal handlers */
    int interrupted;                       /* see read_interruptible */
} lib;

static void *address(PyObject *o) { return o == Py_None ? NULL : PyLong_AsVoidPtr(o); }

/* init(read, read_async, events_free, waiter_wait, waiter_finish, events_callback, Event,
 *      ReadResult, slice_ms): the library's function addresses and the result types. */
static PyObject *init(PyObject *self, PyObject *args) {
    PyObject *fn[6], *event_type, *result_type;
    unsigned int slice_ms;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOOI", &fn[0], &fn[1], &fn[2], &fn[3], &fn[4], &fn[5],
                          &event_type, &result_type, &slice_ms))
        return NULL;
    for (int i = 0; i < 6; i++) {
        if (address(fn[i]) == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a NULL function address");
            return NULL;
        }
    }
    lib.read = (read_fn)address(fn[0]);
    lib.read_async = (read_async_fn)address(fn[1]);
    lib.events_free = (events_free_fn)address(fn[2]);
    lib.waiter_wait = (waiter_wait_fn)address(fn[3]);
    lib.waiter_finish = (waiter_finish_fn)address(fn[4]);
    lib.events_callback = (kmb_events_callback_t)address(fn[5]);
    Py_INCREF(event_type);
    Py_XDECREF(lib.event_type);
    lib.event_type = event_type;
    Py_INCREF(result_type);
    Py_XDECREF(lib.result_type);
    lib.result_type = result_type;
    lib.slice_ms = slice_ms;
    Py_RETURN_NONE;
}

static int ready(void) {
    if (lib.read != NULL) return 1;
    PyErr_SetString(PyExc_RuntimeError, "kimberlite._speedups: init() was not called");
    return 0;
}

/* to_result copies events into a ReadResult and frees them (also when the copy fails). */
static PyObject *to_result(kmb_events_t *ev) {
    PyObject *list = NULL, *result = NULL;
    if (ev == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "kimberlite: the library returned no events and no error");
        return NULL;
    }
    list = PyList_New((Py_ssize_t)ev->count);
    if (list == NULL) goto done;
    for (size_t i = 0; i < ev->count; i++) {
        PyObject *off = PyLong_FromUnsignedLongLong(ev->offsets[i]);
        PyObject *data = PyBytes_FromStringAndSize((const char *)ev->data[i], (Py_ssize_t)ev->lengths[i]);
        PyObject *item = NULL;
        if (off != NULL && data != NULL) item = PyObject_CallFunctionObjArgs(lib.event_type, off, data, NULL);
        Py_XDECREF(off);
        Py_XDECREF(data);
        if (item == NULL) goto done;
        PyList_SetItem(list, (Py_ssize_t)i, item); /* steals item */
    }
    {
        PyObject *next = PyLong_FromUnsignedLongLong(ev->next_offset);
        if (next == NULL) goto done;
        result = PyObject_CallFunctionObjArgs(lib.result_type, list, next, ev->has_more ? Py_True : Py_False, NULL);
        Py_DECREF(next);
    }
done:
    Py_XDECREF(list);
    lib.events_free(ev);
    return result;
}

/* u64 is a Python int as a uint64_t, raising (TypeError, OverflowError) for anything else. */
static int u64(PyObject *o, uint64_t *out) {
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) return 0;
    *out = v;
    return 1;
}

static int parse(PyObject *args, kmb_client_t **c, uint64_t *sid, uint64_t *from, uint64_t *max,
                 PyObject **extra) {
    PyObject *h, *s, *f, *m;
    if (extra != NULL) {
        if (!PyArg_ParseTuple(args, "OOOOO", &h, &s, &f, &m, extra)) return 0;
    } else if (!PyArg_ParseTuple(args, "OOOO", &h, &s, &f, &m)) {
        return 0;
    }
    *c = (kmb_client_t *)address(h);
    if (PyErr_Occurred()) return 0;
    return u64(s, sid) && u64(f, from) && u64(m, max);
}

/* read(client, stream_id, from_offset, max_bytes) -> ReadResult | int: the blocking kmb_read with
 * the GIL released (for threads other than the main one). The arguments are checked by the
 * caller; an int is the library's non-OK status. */
static PyObject *read_blocking(PyObject *self, PyObject *args) {
    kmb_client_t *c;
    uint64_t sid, from, max;
    kmb_events_t *ev = NULL;
    kmb_status_t st;
    (void)self;
    if (!ready() || !parse(args, &c, &sid, &from, &max, NULL)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = lib.read(c, sid, from, max, &ev);
    Py_END_ALLOW_THREADS
    if (st != KMB_OK) return PyLong_FromLong(st);
    return to_result(ev);
}

/* finish takes the completed call's outcome off the waiter (which is then ready again). */
static PyObject *finish(kmb_waiter_t *w) {
    uint64_t value = 0;
    void *events = NULL;
    kmb_status_t st = lib.waiter_finish(w, &value, &events);
    if (st != KMB_OK) return PyLong_FromLong(st);
    return to_result((kmb_events_t *)events);
}

/* read_interruptible(client, stream_id, from_offset, max_bytes, waiter) -> ReadResult | int: for
 * the main thread, where signal handlers (KeyboardInterrupt) must run while the call waits. The
 * waiter has a patience, so the call first runs on this thread as the blocking call does; if it
 * has not completed then, this waits in slices with the GIL released, running pending signal
 * handlers between slices. When a handler raises, the exception propagates with the call still
 * pending on the waiter, and interrupted() says so once, so the caller can hand the
 * call over instead of losing track of it. */
static PyObject *read_interruptible(PyObject *self, PyObject *args) {
    kmb_client_t *c;
    uint64_t sid, from, max;
    PyObject *wo;
    kmb_waiter_t *w;
    kmb_status_t st;
    int done;
    (void)self;
    if (!ready() || !parse(args, &c, &sid, &from, &max, &wo)) return NULL;
    w = (kmb_waiter_t *)address(wo);
    if (w == NULL) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a NULL waiter");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    st = lib.read_async(c, sid, from, max, lib.events_callback, w);
    done = st == KMB_OK ? lib.waiter_wait(w, 0) : 0;
    Py_END_ALLOW_THREADS
    if (st != KMB_OK) return PyLong_FromLong(st);
    while (!done) {
        if (PyErr_CheckSignals() < 0) {
            lib.interrupted = 1;
            return NULL;
        }
        Py_BEGIN_ALLOW_THREADS
        done = lib.waiter_wait(w, lib.slice_ms);
        Py_END_ALLOW_THREADS
    }
    return finish(w);
}

/* interrupted() -> bool: whether the last read_interruptible was left by a signal handler's
 * exception with its call still pending on the waiter; true once, then false again. */
static PyObject *interrupted(PyObject *self, PyObject *unused) {
    int was = lib.interrupted;
    (void)self;
    (void)unused;
    lib.interrupted = 0;
    return PyBool_FromLong(was);
}

static PyMethodDef methods[] = {
    {"init", init, METH_VARARGS, "init(read, read_async, events_free, waiter_wait, waiter_finish, "
                                 "events_callback, Event, ReadResult, slice_ms): set up the module."},
    {"read", read_blocking, METH_VARARGS, "read(client, stream_id, from_offset, max_bytes) -> ReadResult | status"},
    {"read_interruptible", read_interruptible, METH_VARARGS,
     "read_interruptible(client, stream_id, from_offset, max_bytes, waiter) -> ReadResult | status"},
    {"interrupted", interrupted, METH_NOARGS, "interrupted() -> bool (true once after a signal left a call pending)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Client.read in one foreign call (see _speedups.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
