/* The C build of neptune_sync.oplog.hotframe.HotFrame: the open points frame of an operation log
 * writer and the one call made per logged point, append_float. hotframe.py holds the pure Python
 * build, which behaves the same byte for byte (tests/oplog/test_hotframe.py compares them); the
 * module docstring there says what the fields mean and when the fast path applies.
 *
 * The fast path never releases the GIL and runs no Python code (it takes only exact int, float and
 * str arguments, so no __index__ or __float__ is called), so while it runs no other thread of the
 * process runs: it needs the writer's turn to be free, not to take it. Everything else goes to the
 * writer's Python method _append_float_general.
 *
 * A point is stored as its bytes, then the frame's commit word (body length, crc32 of the body) as
 * one aligned 8-byte release store: a kill at any instruction leaves either the old commit word or
 * the new one, never a torn one, and the point's bytes are in memory before the word that covers
 * them (docs/oplog-format.md, "Commit words").
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define INT_STEP_POINT 16 /* u32 step, u32 time offset, f64 value */
#define PRELUDE 24        /* u8 kind, 3 reserved bytes, u32 reserved, u64 first seq, f64 timestamp */
#define KIND_OP 1
#define END_RESERVE 48    /* framing.END_RESERVE: room every segment keeps for its end frame */
#define MULTI_POINT 18    /* u16 table index, then the same */
#define MAX_U32 4294967295.0

typedef struct {
    PyObject_HEAD
    PyObject *turn;       /* list: [True] while no thread writes */
    PyObject *buf;        /* the active segment's bytes (mmap or bytearray), or None */
    Py_buffer view;       /* buf's memory, held while buf is set */
    int has_view;
    Py_ssize_t end;       /* first free byte */
    Py_ssize_t limit;     /* a point starting at or past this does not fit the open frame */
    Py_ssize_t frame;     /* offset of the open points frame (its commit word), -1 if none */
    long long seq;        /* last sequence number used */
    PyObject *open_path;  /* series of the open single-series frame, "" if none */
    PyObject *open_table; /* path table (dict path -> index) of the open multi-series frame, or None */
    double base_ts;       /* the open frame's timestamp */
    unsigned int crc;     /* crc32 of the open frame's body so far */
    PyObject *float_path; /* series of the open float-step frame, "" if none */
    Py_ssize_t segment_size; /* bytes of the active segment frames may use */
    Py_ssize_t release_at; /* a frame laid at or past this goes through the general path */
    char closed;          /* the writer takes no more writes */
} HotFrame;

static PyObject *general_name;    /* "_append_float_general" */
static PyObject *op_general_name; /* "_append_op_general" */
static PyObject *empty;           /* "" */

static void put_u16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void put_f64(unsigned char *p, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

/* The step as a u32 if it is an exact int in range, else -1. */
static long long u32_step(PyObject *step) {
    if (!PyLong_CheckExact(step))
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(step, &overflow);
    if (overflow || v < 0 || v > 0xFFFFFFFFLL)
        return -1;
    return v;
}

/* Store a frame's commit word (body length, crc32 of the body) after its body: one aligned 8-byte
 * release store, so no instant shows a torn word or a word before the bytes it covers. */
static void store_commit(unsigned char *word, uint32_t length, uint32_t crc) {
    unsigned char packed[8];
    put_u32(packed, length);
    put_u32(packed + 4, crc);
    if (((uintptr_t)word & 7) == 0) {
        uint64_t w;
        memcpy(&w, packed, 8);
        __atomic_store_n((uint64_t *)word, w, __ATOMIC_RELEASE);
    } else {
        __atomic_thread_fence(__ATOMIC_RELEASE);
        memcpy(word, packed, 8);
    }
}

/* Lay ``point`` (``size`` bytes) at the end of the open frame and commit it; returns the new seq. */
static PyObject *grow(HotFrame *self, const unsigned char *point, Py_ssize_t size) {
    unsigned char *base = (unsigned char *)self->view.buf;
    Py_ssize_t pos = self->end, stop = pos + size;
    memcpy(base + pos, point, (size_t)size);
    uint32_t crc = (uint32_t)crc32(self->crc, point, (uInt)size);
    store_commit(base + self->frame, (uint32_t)(stop - self->frame - 8), crc);
    self->crc = crc;
    self->end = stop;
    self->seq += 1;
    return PyLong_FromLongLong(self->seq);
}

static PyObject *HotFrame_append_float(HotFrame *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "append_float() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *path = args[0], *step = args[1], *value = args[2], *ts = args[3];
    /* a field may be NULL: deleted (``del writer._turn``) or cleared by the GC; the general path
     * then raises AttributeError, as the Python build does */
    if (self->has_view && self->end < self->limit && self->turn != NULL && PyList_CheckExact(self->turn) &&
        PyList_GET_SIZE(self->turn) == 1 && PyFloat_CheckExact(value) && PyFloat_CheckExact(ts) &&
        PyUnicode_CheckExact(path)) {
        long long int_step = u32_step(step);
        double offset = floor((PyFloat_AS_DOUBLE(ts) - self->base_ts) * 1e6);
        if (int_step >= 0 && offset >= 0.0 && offset <= MAX_U32) {
            unsigned char point[MULTI_POINT];
            if (path == self->open_path ||
                (self->open_path != NULL && PyUnicode_CheckExact(self->open_path) &&
                 PyUnicode_Compare(path, self->open_path) == 0)) {
                put_u32(point, (uint32_t)int_step);
                put_u32(point + 4, (uint32_t)offset);
                put_f64(point + 8, PyFloat_AS_DOUBLE(value));
                if (self->end + INT_STEP_POINT <= self->view.len)
                    return grow(self, point, INT_STEP_POINT);
            } else if (self->open_table != NULL && PyDict_CheckExact(self->open_table)) {
                PyObject *index = PyDict_GetItemWithError(self->open_table, path);
                if (index == NULL && PyErr_Occurred())
                    return NULL;
                if (index != NULL && PyLong_CheckExact(index)) {
                    long i = PyLong_AsLong(index);
                    if (i >= 0 && i <= 0xFFFF && self->end + MULTI_POINT <= self->view.len) {
                        put_u16(point, (unsigned)i);
                        put_u32(point + 2, (uint32_t)int_step);
                        put_u32(point + 6, (uint32_t)offset);
                        put_f64(point + 10, PyFloat_AS_DOUBLE(value));
                        return grow(self, point, MULTI_POINT);
                    }
                }
                if (PyErr_Occurred())
                    return NULL;
            }
        }
    }
    PyObject *stack[6] = {NULL, (PyObject *)self, path, step, value, ts}; /* [0]: room for the callee */
    return PyObject_VectorcallMethod(general_name, stack + 1, 5 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

/* The open points frame takes no more points (writer._close_points_frame). */
static void close_points_frame(HotFrame *self) {
    self->frame = -1;
    self->limit = 0;
    Py_XSETREF(self->open_path, Py_NewRef(empty)); /* X: a deleted field is NULL */
    Py_XSETREF(self->float_path, Py_NewRef(empty));
    Py_XSETREF(self->open_table, Py_NewRef(Py_None));
}

static PyObject *HotFrame_append_op(HotFrame *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "_append_op() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *data = args[0], *count = args[1], *ts = args[2];
    if (self->has_view && !self->closed && self->turn != NULL && PyList_CheckExact(self->turn) &&
        PyList_GET_SIZE(self->turn) == 1 &&
        PyBytes_CheckExact(data) && PyLong_CheckExact(count) && PyFloat_CheckExact(ts)) {
        long long n = PyLong_AsLongLong(count);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        Py_ssize_t size = PyBytes_GET_SIZE(data);
        Py_ssize_t offset = (self->end + 7) & ~(Py_ssize_t)7;
        Py_ssize_t need = 8 + PRELUDE + size;
        if (n >= 1 && offset < self->release_at && offset + need <= self->segment_size - END_RESERVE &&
            offset + need <= self->view.len && size <= 0x7FFFFFFF - PRELUDE) {
            unsigned char *base = (unsigned char *)self->view.buf;
            unsigned char *body = base + offset + 8;
            long long seq = self->seq + 1;
            memset(body, 0, 8);
            body[0] = KIND_OP;
            put_u32(body + 8, (uint32_t)seq);
            put_u32(body + 12, (uint32_t)((unsigned long long)seq >> 32));
            put_f64(body + 16, PyFloat_AS_DOUBLE(ts));
            memcpy(body + PRELUDE, PyBytes_AS_STRING(data), (size_t)size);
            uint32_t crc = (uint32_t)crc32(0, body, (uInt)(PRELUDE + size));
            store_commit(base + offset, (uint32_t)(PRELUDE + size), crc);
            close_points_frame(self);
            self->end = offset + need;
            self->seq = seq + n - 1;
            return PyLong_FromLongLong(self->seq);
        }
    }
    PyObject *stack[5] = {NULL, (PyObject *)self, data, count, ts}; /* [0]: room for the callee */
    return PyObject_VectorcallMethod(op_general_name, stack + 1, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

static PyObject *HotFrame_get_buf(HotFrame *self, void *Py_UNUSED(closure)) {
    if (self->buf == NULL) { /* cleared by the GC */
        PyErr_SetString(PyExc_AttributeError, "_buf");
        return NULL;
    }
    return Py_NewRef(self->buf);
}

static int HotFrame_set_buf(HotFrame *self, PyObject *value, void *Py_UNUSED(closure)) {
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_buf cannot be deleted; set it to None");
        return -1;
    }
    Py_buffer view;
    int has_view = 0;
    if (value != Py_None) {
        if (PyObject_GetBuffer(value, &view, PyBUF_WRITABLE) < 0)
            return -1;
        has_view = 1;
    }
    if (self->has_view)
        PyBuffer_Release(&self->view);
    self->has_view = has_view;
    if (has_view)
        self->view = view;
    Py_XSETREF(self->buf, Py_NewRef(value));
    return 0;
}

static PyObject *HotFrame_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kwds)) {
    HotFrame *self = (HotFrame *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->turn = Py_NewRef(Py_None);
    self->buf = Py_NewRef(Py_None);
    self->open_path = Py_NewRef(empty);
    self->open_table = Py_NewRef(Py_None);
    self->float_path = Py_NewRef(empty);
    self->frame = -1;
    self->release_at = PY_SSIZE_T_MAX;
    return (PyObject *)self;
}

static int HotFrame_traverse(HotFrame *self, visitproc visit, void *arg) {
    Py_VISIT(self->turn);
    Py_VISIT(self->buf);
    Py_VISIT(self->open_path);
    Py_VISIT(self->open_table);
    Py_VISIT(self->float_path);
    return 0;
}

static int HotFrame_clear(HotFrame *self) {
    if (self->has_view) {
        self->has_view = 0;
        PyBuffer_Release(&self->view);
    }
    Py_CLEAR(self->turn);
    Py_CLEAR(self->buf);
    Py_CLEAR(self->open_path);
    Py_CLEAR(self->open_table);
    Py_CLEAR(self->float_path);
    return 0;
}

static void HotFrame_dealloc(HotFrame *self) {
    PyObject_GC_UnTrack(self);
    HotFrame_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef HotFrame_methods[] = {
    {"append_float", (PyCFunction)(void (*)(void))HotFrame_append_float, METH_FASTCALL,
     "append_float(path, step, value, ts) -> seq: append one point of a float series."},
    {"_append_op", (PyCFunction)(void (*)(void))HotFrame_append_op, METH_FASTCALL,
     "_append_op(data, n, ts) -> last seq: lay an op frame of encoded op ``data`` taking ``n`` seqs."},
    {NULL},
};

static PyMemberDef HotFrame_members[] = {
    {"_turn", T_OBJECT_EX, offsetof(HotFrame, turn), 0, NULL},
    {"_end", T_PYSSIZET, offsetof(HotFrame, end), 0, NULL},
    {"_limit", T_PYSSIZET, offsetof(HotFrame, limit), 0, NULL},
    {"_frame", T_PYSSIZET, offsetof(HotFrame, frame), 0, NULL},
    {"_seq", T_LONGLONG, offsetof(HotFrame, seq), 0, NULL},
    {"_open_path", T_OBJECT_EX, offsetof(HotFrame, open_path), 0, NULL},
    {"_open_table", T_OBJECT_EX, offsetof(HotFrame, open_table), 0, NULL},
    {"_base_ts", T_DOUBLE, offsetof(HotFrame, base_ts), 0, NULL},
    {"_crc", T_UINT, offsetof(HotFrame, crc), 0, NULL},
    {"_float_path", T_OBJECT_EX, offsetof(HotFrame, float_path), 0, NULL},
    {"_segment_size", T_PYSSIZET, offsetof(HotFrame, segment_size), 0, NULL},
    {"_release_at", T_PYSSIZET, offsetof(HotFrame, release_at), 0, NULL},
    {"closed", T_BOOL, offsetof(HotFrame, closed), 0, NULL},
    {NULL},
};

static PyGetSetDef HotFrame_getset[] = {
    {"_buf", (getter)HotFrame_get_buf, (setter)HotFrame_set_buf, NULL, NULL},
    {NULL},
};

static PyTypeObject HotFrameType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "neptune_sync.oplog._hotframe.HotFrame",
    .tp_basicsize = sizeof(HotFrame),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The open points frame of an operation log writer (the C build; see hotframe.py).",
    .tp_new = HotFrame_new,
    .tp_dealloc = (destructor)HotFrame_dealloc,
    .tp_free = PyObject_GC_Del,
    .tp_traverse = (traverseproc)HotFrame_traverse,
    .tp_clear = (inquiry)HotFrame_clear,
    .tp_methods = HotFrame_methods,
    .tp_members = HotFrame_members,
    .tp_getset = HotFrame_getset,
};

static struct PyModuleDef hotframe_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "neptune_sync.oplog._hotframe",
    .m_doc = "The C build of neptune_sync.oplog.hotframe.HotFrame.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__hotframe(void) {
    if (PyType_Ready(&HotFrameType) < 0)
        return NULL;
    general_name = PyUnicode_InternFromString("_append_float_general");
    op_general_name = PyUnicode_InternFromString("_append_op_general");
    empty = PyUnicode_InternFromString("");
    if (general_name == NULL || op_general_name == NULL || empty == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&hotframe_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "HotFrame", (PyObject *)&HotFrameType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
