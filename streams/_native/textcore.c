/* The compiled text core of streams: the two hot loops of the text path that measurement found to be
 * the interpreter's, not a library's.
 *
 * sketch, sketch_spaced  from a cleaned text's words to its MinHash signature, its lead signature and
 *   its LSH band and chunk hashes, in one call. The pure-Python path of fingerprint.py spends most of its
 *   time once per shingle in the interpreter (join two words, hash them, box the result): about 200 us
 *   an article there, under 50 here (benchmarks/text_path.py).
 * lines_with_any  cleaning's boilerplate pre-filter: the lines of a text that hold one of ~20 words, in
 *   one pass over the bytes instead of one search of the text per word (about 8 against 30 us).
 *
 * Both compute exactly what the Python fallbacks compute (the tests compare them, field by field), so an
 * index written by one is read by the other.
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

/* The stop words as a C table, built once per stop set (the caller passes the same frozenset each time;
 * it is kept alive here, and with it the bytes the table points into). */
typedef struct {
    uint64_t hash;
    const char *word;
    Py_ssize_t length;
} stop_entry;

static PyObject *stop_set = NULL;
static stop_entry *stop_table = NULL;
static size_t stop_mask = 0;

static uint64_t word_hash(const char *word, Py_ssize_t length) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: the words are short */
    for (Py_ssize_t i = 0; i < length; i++) h = (h ^ (unsigned char)word[i]) * 0x100000001b3ull;
    return h;
}

static int use_stop_words(PyObject *stop) {
    if (stop == stop_set) return 0;
    size_t capacity = 16;
    while (capacity < 4 * (size_t)PySet_GET_SIZE(stop)) capacity <<= 1;
    stop_entry *table = calloc(capacity, sizeof(stop_entry));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *iterator = PyObject_GetIter(stop), *word;
    if (iterator == NULL) {
        free(table);
        return -1;
    }
    /* The frozenset holds its words: the pointers into them stay valid while it is kept. */
    while ((word = PyIter_Next(iterator)) != NULL) {
        if (!PyBytes_Check(word)) {
            Py_DECREF(word);
            Py_DECREF(iterator);
            free(table);
            PyErr_SetString(PyExc_TypeError, "sketch: the stop words must be bytes");
            return -1;
        }
        const uint64_t h = word_hash(PyBytes_AS_STRING(word), PyBytes_GET_SIZE(word));
        size_t at = (size_t)h & (capacity - 1);
        while (table[at].word != NULL) at = (at + 1) & (capacity - 1);
        table[at] = (stop_entry){h, PyBytes_AS_STRING(word), PyBytes_GET_SIZE(word)};
        Py_DECREF(word);
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        free(table);
        return -1;
    }
    free(stop_table);
    Py_XDECREF(stop_set);
    Py_INCREF(stop);
    stop_set = stop;
    stop_table = table;
    stop_mask = capacity - 1;
    return 0;
}

static int is_stop_word(const char *word, Py_ssize_t length) {
    const uint64_t h = word_hash(word, length);
    for (size_t at = (size_t)h & stop_mask; stop_table[at].word != NULL; at = (at + 1) & stop_mask)
        if (stop_table[at].hash == h && stop_table[at].length == length &&
            memcmp(stop_table[at].word, word, (size_t)length) == 0)
            return 1;
    return 0;
}

typedef struct {
    Py_ssize_t size, lead_shingles, min_length, sample, bands, rows, lead_bands, lead_rows;
    unsigned long long divisor, chunk_seed, lead_salt;
    Py_buffer perm_view, lead_view;
    permutations perm, lead_perm;
} sketch_params;

static void release(sketch_params *p) {
    PyBuffer_Release(&p->perm_view);
    PyBuffer_Release(&p->lead_view);
}

/* The text, then shingle size, stop set and the rest of sketch_params; ":name" for the error messages. */
#define SKETCH_FORMAT(name) "OnO!y*ny*KnnKnnnnK:" name

static int parse_params(PyObject *args, const char *format, const char *name, PyObject **text,
                        sketch_params *p) {
    PyObject *stop;
    if (!PyArg_ParseTuple(args, format, text, &p->size, &PyFrozenSet_Type, &stop, &p->perm_view,
                          &p->lead_shingles, &p->lead_view, &p->divisor, &p->min_length, &p->sample,
                          &p->chunk_seed, &p->bands, &p->rows, &p->lead_bands, &p->lead_rows, &p->lead_salt))
        return -1;
    if (parse_permutations(&p->perm_view, &p->perm, "permutations") < 0 ||
        parse_permutations(&p->lead_view, &p->lead_perm, "lead_permutations") < 0)
        goto fail;
    if (p->size < 1 || p->divisor == 0 || p->min_length < 0 || p->sample < 0 || p->lead_shingles < 0 ||
        p->bands < 0 || p->rows < 1 || p->lead_bands < 0 || p->lead_rows < 1 ||
        p->bands * p->rows > p->perm.count || p->lead_bands * p->lead_rows > p->lead_perm.count) {
        PyErr_Format(PyExc_ValueError, "%s: parameters out of range", name);
        goto fail;
    }
    if (use_stop_words(stop) < 0) goto fail;
    return 0;
fail:
    release(p);
    return -1;
}

/* The signature, distinct count, lead signature and band and chunk hashes of the content words: word k
 * is text[starts[k] .. starts[k + 1] - 2], each followed by one space. */
static PyObject *sketch_content(const char *text, const Py_ssize_t *starts, Py_ssize_t n_content,
                                const sketch_params *p) {
    PyObject *result = NULL;
    uint64_t *ordered = NULL, *chunks = NULL, *scratch = NULL;
    uint32_t *signature = NULL, *lead = NULL;
    const Py_ssize_t size = p->size, count = n_content > size ? n_content - size + 1 : (n_content > 0 ? 1 : 0);
    const Py_ssize_t most = p->perm.count > p->lead_perm.count ? p->perm.count : p->lead_perm.count;
    ordered = malloc(sizeof(uint64_t) * (size_t)(count + 1));
    chunks = malloc(sizeof(uint64_t) * (size_t)(count + 1));
    signature = malloc(sizeof(uint32_t) * (size_t)p->perm.count);
    lead = malloc(sizeof(uint32_t) * (size_t)p->lead_perm.count);
    scratch = malloc(sizeof(uint64_t) * (size_t)most);
    if (ordered == NULL || chunks == NULL || signature == NULL || lead == NULL || scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t distinct, n_chunks = 0, i;
    /* The GIL is kept: this takes microseconds, and giving it up would let the consumer thread take it
     * for up to its switch interval (5 ms) before this one got it back. */
    if (n_content > size) {
        for (i = 0; i < count; i++) /* the words i .. i + size - 1 and the spaces between them */
            ordered[i] = XXH3_64bits(text + starts[i], (size_t)(starts[i + size] - starts[i] - 1));
    } else if (n_content > 0) {
        ordered[0] = XXH3_64bits(text, (size_t)(starts[n_content] - 1));
    }
    distinct = count_distinct(ordered, count);
    if (distinct < 0) {
        PyErr_NoMemory();
        goto done;
    }
    minhash(ordered, count, &p->perm, scratch, signature);
    minhash(ordered, count < p->lead_shingles ? count : p->lead_shingles, &p->lead_perm, scratch, lead);
    n_chunks = anchored_chunks(ordered, count, p->divisor, p->min_length, p->sample, p->chunk_seed, chunks);

    PyObject *hashes = PyTuple_New(p->bands + p->lead_bands + n_chunks);
    if (hashes == NULL) goto done;
    Py_ssize_t k = 0;
    for (i = 0; i < p->bands; i++, k++)
        PyTuple_SET_ITEM(hashes, k, PyLong_FromUnsignedLongLong(XXH3_64bits_withSeed(
                                        signature + i * p->rows, (size_t)p->rows * 4, (XXH64_hash_t)i)));
    for (i = 0; i < p->lead_bands; i++, k++)
        PyTuple_SET_ITEM(hashes, k,
                         PyLong_FromUnsignedLongLong(XXH3_64bits_withSeed(
                             lead + i * p->lead_rows, (size_t)p->lead_rows * 4, p->lead_salt + (uint64_t)i)));
    for (i = 0; i < n_chunks; i++, k++) PyTuple_SET_ITEM(hashes, k, PyLong_FromUnsignedLongLong(chunks[i]));
    for (i = 0; i < k; i++)
        if (PyTuple_GET_ITEM(hashes, i) == NULL) {
            Py_DECREF(hashes);
            goto done;
        }
    result = Py_BuildValue("(y#ny#N)", (const char *)signature, p->perm.count * 4, distinct,
                           (const char *)lead, p->lead_perm.count * 4, hashes);
done:
    free(ordered);
    free(chunks);
    free(signature);
    free(lead);
    free(scratch);
    return result;
}

static PyObject *sketch(PyObject *module, PyObject *args) {
    PyObject *words, *result = NULL;
    sketch_params p;
    if (parse_params(args, SKETCH_FORMAT("sketch"), "sketch", &words, &p) < 0) return NULL;
    char *text = NULL;
    Py_ssize_t *starts = NULL;
    if (!PyList_Check(words)) {
        PyErr_SetString(PyExc_TypeError, "sketch: words must be a list of bytes");
        goto done;
    }
    /* The content words, copied into one buffer. */
    const Py_ssize_t n_words = PyList_GET_SIZE(words);
    Py_ssize_t total = 0, n_content = 0, at = 0, i;
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
    for (i = 0; i < n_words; i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        const char *bytes = PyBytes_AS_STRING(word);
        const Py_ssize_t length = PyBytes_GET_SIZE(word);
        if (is_stop_word(bytes, length)) continue;
        starts[n_content++] = at;
        memcpy(text + at, bytes, (size_t)length);
        at += length;
        text[at++] = ' ';
    }
    starts[n_content] = at;
    result = sketch_content(text, starts, n_content, &p);
done:
    free(text);
    free(starts);
    release(&p);
    return result;
}

static inline int is_ascii_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\x0b' || c == '\x0c'; /* bytes.split */
}

/* From the byte tokenizer's output (fingerprint._ascii_spaced: lower-case words, each curly apostrophe a
 * NUL byte, separated by white space): the words joined by single spaces with the curly apostrophes
 * back (the exact key's input), and the sketch of the content words with straight apostrophes. */
static PyObject *sketch_spaced(PyObject *module, PyObject *args) {
    PyObject *spaced, *result = NULL, *joined = NULL, *sketched = NULL;
    sketch_params p;
    if (parse_params(args, SKETCH_FORMAT("sketch_spaced"), "sketch_spaced", &spaced, &p) < 0) return NULL;
    char *text = NULL, *exact = NULL;
    Py_ssize_t *starts = NULL;
    if (!PyBytes_Check(spaced)) {
        PyErr_SetString(PyExc_TypeError, "sketch_spaced: spaced must be bytes");
        goto done;
    }
    const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(spaced);
    const Py_ssize_t length = PyBytes_GET_SIZE(spaced);
    text = malloc((size_t)length + 2);
    exact = malloc((size_t)length * 3 + 1);
    starts = malloc(sizeof(Py_ssize_t) * (size_t)(length / 2 + 2)); /* a word and a space at least */
    if (text == NULL || exact == NULL || starts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t i = 0, at = 0, exact_at = 0, n_content = 0;
    while (i < length) {
        while (i < length && is_ascii_space(raw[i])) i++;
        if (i == length) break;
        const Py_ssize_t first = i;
        while (i < length && !is_ascii_space(raw[i])) i++;
        if (exact_at > 0) exact[exact_at++] = ' ';
        for (Py_ssize_t j = first; j < i; j++) {
            if (raw[j] == 0) {
                memcpy(exact + exact_at, "\xe2\x80\x99", 3);
                exact_at += 3;
            } else {
                exact[exact_at++] = (char)raw[j];
            }
        }
        /* No stop word holds an apostrophe of either kind: looking a word up as it is gives the same. */
        if (is_stop_word((const char *)raw + first, i - first)) continue;
        starts[n_content++] = at;
        for (Py_ssize_t j = first; j < i; j++) text[at++] = raw[j] == 0 ? '\'' : (char)raw[j];
        text[at++] = ' ';
    }
    starts[n_content] = at;
    joined = PyBytes_FromStringAndSize(exact, exact_at);
    if (joined == NULL) goto done;
    sketched = sketch_content(text, starts, n_content, &p);
    if (sketched == NULL) goto done;
    result = Py_BuildValue("(OOOOO)", joined, PyTuple_GET_ITEM(sketched, 0), PyTuple_GET_ITEM(sketched, 1),
                           PyTuple_GET_ITEM(sketched, 2), PyTuple_GET_ITEM(sketched, 3));
done:
    Py_XDECREF(joined);
    Py_XDECREF(sketched);
    free(text);
    free(exact);
    free(starts);
    release(&p);
    return result;
}

/* The words a line may be dropped for (cleaning's boilerplate pre-filter), indexed by their first two
 * bytes; built once per tuple of words (kept alive here, like the stop words). */
#define MAX_SCAN_WORDS 64
static PyObject *scan_words = NULL;
static const char *scan_word[MAX_SCAN_WORDS];
static Py_ssize_t scan_length[MAX_SCAN_WORDS], scan_count = 0;
static uint32_t scan_head[MAX_SCAN_WORDS]; /* the first two bytes, then the third or 256 if none */
static uint64_t scan_first_two[65536 / 64];

static int use_scan_words(PyObject *words) {
    if (words == scan_words) return 0;
    const Py_ssize_t n = PyTuple_GET_SIZE(words);
    if (n > MAX_SCAN_WORDS) {
        PyErr_Format(PyExc_ValueError, "lines_with_any: at most %d words", MAX_SCAN_WORDS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyTuple_GET_ITEM(words, i);
        if (!PyBytes_Check(word) || PyBytes_GET_SIZE(word) < 2) {
            PyErr_SetString(PyExc_TypeError, "lines_with_any: words must be bytes of 2 or more");
            return -1;
        }
    }
    memset(scan_first_two, 0, sizeof scan_first_two);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyTuple_GET_ITEM(words, i);
        const unsigned char *w = (const unsigned char *)PyBytes_AS_STRING(word);
        scan_word[i] = (const char *)w;
        scan_length[i] = PyBytes_GET_SIZE(word);
        const unsigned key = (unsigned)w[0] << 8 | w[1];
        scan_first_two[key >> 6] |= 1ull << (key & 63);
        scan_head[i] = key << 9 | (scan_length[i] > 2 ? w[2] : 256u);
    }
    scan_count = n;
    Py_INCREF(words);
    Py_XDECREF(scan_words);
    scan_words = words;
    return 0;
}

/* The numbers of the lines (0-based, split at b"\n") of text that hold one of the words: one pass over
 * the text, each position looked up by its two bytes, instead of one search of the text per word. */
static PyObject *lines_with_any(PyObject *module, PyObject *args) {
    (void)module;
    const unsigned char *text;
    Py_ssize_t length;
    PyObject *words;
    if (!PyArg_ParseTuple(args, "y#O!:lines_with_any", &text, &length, &PyTuple_Type, &words)) return NULL;
    if (use_scan_words(words) < 0) return NULL;
    PyObject *found = PyList_New(0);
    if (found == NULL) return NULL;
    Py_ssize_t line = 0, i = 0;
    while (i + 1 < length) {
        const unsigned char c = text[i];
        if (c == '\n') {
            line++;
            i++;
            continue;
        }
        const unsigned key = (unsigned)c << 8 | text[i + 1];
        int hit = 0;
        if (scan_first_two[key >> 6] >> (key & 63) & 1) {
            const uint32_t head = key << 9, third = i + 2 < length ? text[i + 2] : 512u;
            for (Py_ssize_t w = 0; w < scan_count && !hit; w++) {
                if ((scan_head[w] & ~511u) != head) continue;
                if ((scan_head[w] & 511u) != 256u && (scan_head[w] & 511u) != third) continue;
                hit = scan_length[w] <= length - i && memcmp(text + i, scan_word[w], (size_t)scan_length[w]) == 0;
            }
        }
        if (!hit) {
            i++;
            continue;
        }
        PyObject *number = PyLong_FromSsize_t(line);
        if (number == NULL || PyList_Append(found, number) < 0) {
            Py_XDECREF(number);
            Py_DECREF(found);
            return NULL;
        }
        Py_DECREF(number);
        const unsigned char *end = memchr(text + i, '\n', (size_t)(length - i)); /* on to the next line */
        if (end == NULL) break;
        i = end - text + 1;
        line++;
    }
    return found;
}

static PyMethodDef methods[] = {
    {"sketch", sketch, METH_VARARGS,
     "sketch(words, size, stop, permutations, lead_shingles, lead_permutations, divisor, min_length,\n"
     "       sample, chunk_seed, bands, rows, lead_bands, lead_rows, lead_salt)\n"
     "-> (signature bytes, distinct shingles, lead signature bytes, band and chunk hashes)"},
    {"lines_with_any", lines_with_any, METH_VARARGS,
     "lines_with_any(text, words) -> the numbers of the lines of text (split at \\n) holding any word"},
    {"sketch_spaced", sketch_spaced, METH_VARARGS,
     "sketch_spaced(spaced, size, stop, ...): sketch() of the words of the byte tokenizer's output\n"
     "-> (the words joined for the exact key, signature, distinct shingles, lead signature, hashes)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "streams._textcore", "The compiled text core of streams (fingerprints, boilerplate scan).", -1, methods,
};

PyMODINIT_FUNC PyInit__textcore(void) { return PyModule_Create(&module_def); }
