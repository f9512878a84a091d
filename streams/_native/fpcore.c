/* The compiled core of streams.fingerprint: from a cleaned text's words to its MinHash signature, its
 * lead signature and its LSH band and chunk hashes, in one call.
 *
 * It computes exactly what the pure-Python path of fingerprint.py computes (the tests compare the two on
 * every field), so an index written by one is read by the other. It exists because that path spends
 * most of its time once per shingle in the interpreter (join two words, hash them, box the result):
 * about 150 us an article in Python, about 15 here (benchmarks/text_path.py).
 *
 * The same definitions as fingerprint.py:
 *   content words  the words that are not in the stop set, in order
 *   shingles       each run of `size` consecutive content words joined by one space (a text of at most
 *                  `size` content words is one shingle of all of them; none gives no shingle)
 *   ordered        xxh3_64 of each shingle, in text order
 *   signature[i]   min over the distinct shingle hashes x of ((a[i] * x + b[i]) mod 2^64) >> 32
 *   lead[i]        the same over the first `lead_shingles` of ordered, with the lead permutations
 *   band j         xxh3_64(signature bytes of rows j*r .. (j+1)*r - 1, seed = salt + j)
 *   chunks         a chunk is a run of ordered from one anchor (hash % divisor == 0) to the next, of at
 *                  least min_length hashes; its hash is xxh3_64 of its bytes with chunk_seed; the
 *                  `sample` smallest distinct ones are kept, ascending
 * Multisets and sets have the same minimum, and a shift commutes with it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include "xxhash.h"

typedef struct {
    const uint64_t *a;
    const uint64_t *b;
    Py_ssize_t count;
} permutations;

static int parse_permutations(Py_buffer *view, permutations *out, const char *name) {
    /* a then b, uint64 each, in one buffer of 16 * count bytes */
    if (view->len % 16 != 0 || view->len == 0) {
        PyErr_Format(PyExc_ValueError, "%s must hold a then b as uint64 (a multiple of 16 bytes)", name);
        return -1;
    }
    out->count = view->len / 16;
    out->a = (const uint64_t *)view->buf;
    out->b = out->a + out->count;
    return 0;
}

/* Cloned per instruction set (the loader picks one for the CPU at hand): with AVX-512 or AVX2 the
 * compiler runs the permutations' loop several lanes at a time, about three times faster. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void minhash_rows(const uint64_t *restrict hashes, Py_ssize_t n, const uint64_t *restrict a,
                         const uint64_t *restrict b, Py_ssize_t count, uint64_t *restrict mins) {
    Py_ssize_t i, j;
    for (j = 0; j < count; j++) mins[j] = 0xFFFFFFFFu;
    for (i = 0; i < n; i++) {
        const uint64_t x = hashes[i];
        for (j = 0; j < count; j++) {
            const uint64_t v = (a[j] * x + b[j]) >> 32;
            mins[j] = v < mins[j] ? v : mins[j];
        }
    }
}

static void minhash(const uint64_t *hashes, Py_ssize_t n, const permutations *perm, uint64_t *scratch,
                    uint32_t *out) {
    Py_ssize_t j;
    minhash_rows(hashes, n, perm->a, perm->b, perm->count, scratch);
    for (j = 0; j < perm->count; j++) out[j] = (uint32_t)scratch[j];
}

static Py_ssize_t count_distinct(const uint64_t *values, Py_ssize_t n) {
    /* open addressing; a slot holds value + 1 so that 0 marks an empty one (value 2^64 - 1 kept aside) */
    Py_ssize_t capacity = 16, i, distinct = 0;
    int saw_max = 0;
    while (capacity < 2 * n) capacity <<= 1;
    uint64_t *slots = calloc((size_t)capacity, sizeof(uint64_t));
    if (slots == NULL) return -1;
    for (i = 0; i < n; i++) {
        if (values[i] == UINT64_MAX) {
            saw_max = 1;
            continue;
        }
        const uint64_t key = values[i] + 1;
        size_t at = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & (size_t)(capacity - 1);
        while (slots[at] != 0 && slots[at] != key) at = (at + 1) & (size_t)(capacity - 1);
        if (slots[at] == 0) {
            slots[at] = key;
            distinct++;
        }
    }
    free(slots);
    return distinct + saw_max;
}

static int compare_u64(const void *x, const void *y) {
    const uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static Py_ssize_t anchored_chunks(const uint64_t *ordered, Py_ssize_t n, uint64_t divisor,
                                  Py_ssize_t min_length, Py_ssize_t sample, uint64_t seed, uint64_t *out) {
    /* out has room for n; returns how many of the smallest distinct chunk hashes it holds (<= sample) */
    Py_ssize_t previous = -1, found = 0, i, kept = 0;
    for (i = 0; i < n; i++) {
        if (ordered[i] % divisor != 0) continue;
        if (previous >= 0 && i - previous >= min_length)
            out[found++] = XXH3_64bits_withSeed(ordered + previous, (size_t)(i - previous) * 8, seed);
        previous = i;
    }
    qsort(out, (size_t)found, sizeof(uint64_t), compare_u64);
    for (i = 0; i < found && kept < sample; i++)
        if (kept == 0 || out[kept - 1] != out[i]) out[kept++] = out[i];
    return kept;
}

static PyObject *sketch(PyObject *module, PyObject *args) {
    PyObject *words, *stop;
    Py_ssize_t size, lead_shingles, min_length, sample, bands, rows, lead_bands, lead_rows;
    unsigned long long divisor, chunk_seed, lead_salt;
    Py_buffer perm_view, lead_view;
    if (!PyArg_ParseTuple(args, "O!nO!y*ny*KnnKnnnnK:sketch", &PyList_Type, &words, &size, &PyFrozenSet_Type,
                          &stop, &perm_view, &lead_shingles, &lead_view, &divisor, &min_length, &sample,
                          &chunk_seed, &bands, &rows, &lead_bands, &lead_rows, &lead_salt))
        return NULL;

    PyObject *result = NULL;
    char *text = NULL;
    Py_ssize_t *starts = NULL;
    uint64_t *ordered = NULL, *chunks = NULL, *scratch = NULL;
    uint32_t *signature = NULL, *lead = NULL;
    permutations perm, lead_perm;
    if (parse_permutations(&perm_view, &perm, "permutations") < 0 ||
        parse_permutations(&lead_view, &lead_perm, "lead_permutations") < 0)
        goto done;
    if (size < 1 || divisor == 0 || min_length < 0 || sample < 0 || lead_shingles < 0 || bands < 0 ||
        rows < 1 || lead_bands < 0 || lead_rows < 1 || bands * rows > perm.count ||
        lead_bands * lead_rows > lead_perm.count) {
        PyErr_SetString(PyExc_ValueError, "sketch: parameters out of range");
        goto done;
    }

    /* The content words, copied into one buffer (so the hashing can run without the GIL). */
    const Py_ssize_t n_words = PyList_GET_SIZE(words);
    Py_ssize_t total = 0, n_content = 0, i;
    for (i = 0; i < n_words; i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        if (!PyBytes_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "sketch: words must be a list of bytes");
            goto done;
        }
        total += PyBytes_GET_SIZE(word) + 1;
    }
    text = malloc((size_t)total + 1);
    starts = malloc(sizeof(Py_ssize_t) * (size_t)(n_words + 1));
    if (text == NULL || starts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t at = 0;
    for (i = 0; i < n_words; i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        const int is_stop = PySet_Contains(stop, word);
        if (is_stop < 0) goto done;
        if (is_stop) continue;
        starts[n_content++] = at;
        memcpy(text + at, PyBytes_AS_STRING(word), (size_t)PyBytes_GET_SIZE(word));
        at += PyBytes_GET_SIZE(word);
        text[at++] = ' ';
    }
    starts[n_content] = at; /* word k is text[starts[k] .. starts[k+1] - 2], a space after each */

    const Py_ssize_t count = n_content > size ? n_content - size + 1 : (n_content > 0 ? 1 : 0);
    ordered = malloc(sizeof(uint64_t) * (size_t)(count + 1));
    chunks = malloc(sizeof(uint64_t) * (size_t)(count + 1));
    signature = malloc(sizeof(uint32_t) * (size_t)perm.count);
    lead = malloc(sizeof(uint32_t) * (size_t)lead_perm.count);
    scratch = malloc(sizeof(uint64_t) * (size_t)(perm.count > lead_perm.count ? perm.count : lead_perm.count));
    if (ordered == NULL || chunks == NULL || signature == NULL || lead == NULL || scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t distinct, n_chunks = 0;
    Py_BEGIN_ALLOW_THREADS;
    if (n_content > size) {
        for (i = 0; i < count; i++) /* the words i .. i + size - 1 and the spaces between them */
            ordered[i] = XXH3_64bits(text + starts[i], (size_t)(starts[i + size] - starts[i] - 1));
    } else if (n_content > 0) {
        ordered[0] = XXH3_64bits(text, (size_t)(at - 1));
    }
    distinct = count_distinct(ordered, count);
    if (distinct >= 0) {
        minhash(ordered, count, &perm, scratch, signature);
        minhash(ordered, count < lead_shingles ? count : lead_shingles, &lead_perm, scratch, lead);
        n_chunks = anchored_chunks(ordered, count, divisor, min_length, sample, chunk_seed, chunks);
    }
    Py_END_ALLOW_THREADS;
    if (distinct < 0) {
        PyErr_NoMemory();
        goto done;
    }

    PyObject *hashes = PyTuple_New(bands + lead_bands + n_chunks);
    if (hashes == NULL) goto done;
    Py_ssize_t k = 0;
    for (i = 0; i < bands; i++, k++)
        PyTuple_SET_ITEM(hashes, k, PyLong_FromUnsignedLongLong(XXH3_64bits_withSeed(
                                        signature + i * rows, (size_t)rows * 4, (XXH64_hash_t)i)));
    for (i = 0; i < lead_bands; i++, k++)
        PyTuple_SET_ITEM(hashes, k, PyLong_FromUnsignedLongLong(XXH3_64bits_withSeed(
                                        lead + i * lead_rows, (size_t)lead_rows * 4, lead_salt + (uint64_t)i)));
    for (i = 0; i < n_chunks; i++, k++) PyTuple_SET_ITEM(hashes, k, PyLong_FromUnsignedLongLong(chunks[i]));
    for (i = 0; i < k; i++)
        if (PyTuple_GET_ITEM(hashes, i) == NULL) {
            Py_DECREF(hashes);
            goto done;
        }
    result = Py_BuildValue("(y#ny#N)", (const char *)signature, perm.count * 4, distinct, (const char *)lead,
                           lead_perm.count * 4, hashes);

done:
    free(text);
    free(starts);
    free(ordered);
    free(chunks);
    free(signature);
    free(lead);
    free(scratch);
    PyBuffer_Release(&perm_view);
    PyBuffer_Release(&lead_view);
    return result;
}

static PyMethodDef methods[] = {
    {"sketch", sketch, METH_VARARGS,
     "sketch(words, size, stop, permutations, lead_shingles, lead_permutations, divisor, min_length,\n"
     "       sample, chunk_seed, bands, rows, lead_bands, lead_rows, lead_salt)\n"
     "-> (signature bytes, distinct shingles, lead signature bytes, band and chunk hashes)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "streams._fpcore", "The compiled core of streams.fingerprint.", -1, methods,
};

PyMODINIT_FUNC PyInit__fpcore(void) { return PyModule_Create(&module_def); }
