/* Tests for harness/data/ingest: every input format (plain, JSONL,
 * directories, tar / tar.gz / tar.zst, .gz / .zst / .xz written here with
 * libarchive), the embedded corpus, error messages with file and line, the
 * skip policy's counts, and the UTF-8 validator. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "data/ingest.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name, *data;
} member;

/* Writes `n` members into `path` with libarchive: a tar (format_tar=1) or a
 * single raw compressed stream (format_tar=0, n == 1); filter is an
 * ARCHIVE_FILTER_* code. */
static void write_archive(const char *path, int format_tar, int filter, const member *m, size_t n)
{
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
    assert_int_equal(format_tar ? archive_write_set_format_pax_restricted(a) : archive_write_set_format_raw(a),
                     ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(m[i].data));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, m[i].data, strlen(m[i].data)), (la_ssize_t)strlen(m[i].data));
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static char *put(const char *dir, const char *name, const char *data)
{
    char *p = hx_path_join(dir, name);
    assert_int_equal(hx_write_file_atomic(p, data, strlen(data)), HX_OK);
    return p;
}

static char *make_tmpdir(void)
{
    char *d = strdup("/tmp/hx_ingest_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct {
    const char *source_suffix, *text;
    uint64_t line;
} expect;

static void ends_with_or_fail(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    if (a < b || strcmp(s + a - b, suf) != 0) fail_msg("source \"%s\" does not end with \"%s\"", s, suf);
}

static void test_every_format_in_sorted_walk(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    free(put(dir, "01.txt", "\xEF\xBB\xBFhello\nworld\n"));
    free(put(dir, "02.jsonl", "{\"text\": \"first\", \"id\": 1}\n\n  \n{\"text\": \"caf\\u00e9 \\\"q\\\"\"}"));
    free(put(dir, ".hidden.txt", "never read"));
    free(put(dir, "00-empty.txt", ""));
    char *p;
    member tgz[] = {{"in/x.txt", "tar text"}, {"in/y.jsonl", "{\"text\":\"tar line 1\"}\n{\"text\":\"tar line 2\"}\n"}};
    write_archive(p = hx_path_join(dir, "03.tar.gz"), 1, ARCHIVE_FILTER_GZIP, tgz, 2), free(p);
    member j[] = {{"data", "{\"text\":\"zstd jsonl\"}\n"}};
    write_archive(p = hx_path_join(dir, "04.jsonl.zst"), 0, ARCHIVE_FILTER_ZSTD, j, 1), free(p);
    member t[] = {{"data", "xz text \xE2\x82\xAC"}};
    write_archive(p = hx_path_join(dir, "05.txt.xz"), 0, ARCHIVE_FILTER_XZ, t, 1), free(p);
    member g[] = {{"data", "{\"text\":\"gz jsonl\"}"}};
    write_archive(p = hx_path_join(dir, "06.jsonl.gz"), 0, ARCHIVE_FILTER_GZIP, g, 1), free(p);
    member tz[] = {{"z.txt", "tar.zst text"}};
    write_archive(p = hx_path_join(dir, "07.tar.zst"), 1, ARCHIVE_FILTER_ZSTD, tz, 1), free(p);
    member tp[] = {{"p.txt", "plain tar"}};
    write_archive(p = hx_path_join(dir, "08.tar"), 1, ARCHIVE_FILTER_NONE, tp, 1), free(p);
    char *sub = hx_path_join(dir, "09/sub");
    assert_int_equal(hx_mkdir_p(sub), HX_OK);
    free(put(sub, "b.txt", "deep b"));
    free(put(sub, "a.txt", "deep a"));

    const expect want[] = {
        {"01.txt", "hello\nworld\n", 1},
        {"02.jsonl", "first", 1},
        {"02.jsonl", "caf\xC3\xA9 \"q\"", 4},
        {"03.tar.gz:in/x.txt", "tar text", 1},
        {"03.tar.gz:in/y.jsonl", "tar line 1", 1},
        {"03.tar.gz:in/y.jsonl", "tar line 2", 2},
        {"04.jsonl.zst", "zstd jsonl", 1},
        {"05.txt.xz", "xz text \xE2\x82\xAC", 1},
        {"06.jsonl.gz", "gz jsonl", 1},
        {"07.tar.zst:z.txt", "tar.zst text", 1},
        {"08.tar:p.txt", "plain tar", 1},
        {"09/sub/a.txt", "deep a", 1},
        {"09/sub/b.txt", "deep b", 1},
    };
    const char *paths[] = {dir};
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(paths, 1, NULL, &it), HX_OK);
    hx_doc d;
    size_t k = 0;
    int r;
    while ((r = hx_ingest_next(it, &d)) == 1) {
        assert_true(k < sizeof want / sizeof *want);
        ends_with_or_fail(d.source, want[k].source_suffix);
        assert_int_equal(d.len, strlen(want[k].text));
        assert_memory_equal(d.text, want[k].text, d.len);
        assert_int_equal(d.line, want[k].line);
        k++;
    }
    assert_int_equal(r, 0);
    assert_int_equal(k, sizeof want / sizeof *want);
    const hx_ingest_stats *s = hx_ingest_stats_of(it);
    assert_int_equal(s->docs, k);
    assert_int_equal(s->empty, 1);
    assert_int_equal(s->skipped, 0);
    assert_int_equal(hx_ingest_next(it, &d), 0); /* stays at the end */
    hx_ingest_close(it);
    free(sub);
    rm_rf(dir);
    free(dir);
}

static void test_custom_text_field(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *f = put(dir, "c.jsonl", "{\"content\":\"A\",\"text\":\"no\"}\n{\"content\":\"B\"}\n");
    const char *paths[] = {f};
    hx_ingest_opts o = {.text_field = "content"};
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(paths, 1, &o, &it), HX_OK);
    hx_doc d;
    assert_int_equal(hx_ingest_next(it, &d), 1);
    assert_memory_equal(d.text, "A", 1);
    assert_int_equal(hx_ingest_next(it, &d), 1);
    assert_memory_equal(d.text, "B", 1);
    assert_int_equal(hx_ingest_next(it, &d), 0);
    hx_ingest_close(it);
    free(f);
    rm_rf(dir);
    free(dir);
}

/* Counts documents of the embedded corpus; data/README.md states 3391 + 105. */
static void test_embedded_corpus_streams(void **state)
{
    (void)state;
    const char *paths[] = {"data/corpus-train.jsonl.zst", "data/corpus-valid.jsonl.zst"};
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(paths, 2, NULL, &it), HX_OK);
    hx_doc d;
    uint64_t n = 0, train = 0;
    int r;
    while ((r = hx_ingest_next(it, &d)) == 1) {
        if (n == 0) assert_memory_equal(d.text, "Genesis 1\n\n1 In the beginning", 29);
        if (strstr(d.source, "train")) train++;
        n++;
    }
    if (r < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(train, 3391);
    assert_int_equal(n, 3391 + 105);
    const hx_ingest_stats *s = hx_ingest_stats_of(it);
    assert_int_equal(s->input_bytes, 5791707 + 165134);
    assert_int_equal(s->text_bytes, 5488172 + 155781);
    hx_ingest_close(it);
}

static const char BAD_JSONL[] = "{\"text\":\"ok 1\"}\n"
                                "{\"text\":\"bad \xC3\x28 utf8\"}\n"
                                "{\"text\": \"unterminated}\n"
                                "{\"title\":\"no text\"}\n"
                                "{\"text\": 42}\n"
                                "[\"not an object\"]\n"
                                "{\"text\":\"ok 2\"}\n";

/* Writes `data` to dir/name and expects reading it to stop with `msg_part`. */
static void expect_stop_error(const char *dir, const char *name, const char *data, const char *msg_part)
{
    char *file = put(dir, name, data);
    const char *paths[] = {file};
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(paths, 1, NULL, &it), HX_OK);
    hx_doc d;
    int r;
    while ((r = hx_ingest_next(it, &d)) == 1) {
    }
    assert_int_equal(r, HX_EFORMAT);
    if (!strstr(hx_errmsg(), msg_part)) fail_msg("error \"%s\" lacks \"%s\"", hx_errmsg(), msg_part);
    hx_ingest_close(it);
    free(file);
}

static void test_bad_input_names_file_and_line(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    /* Each bad line in turn, by cutting the file after it. */
    expect_stop_error(dir, "bad.jsonl", BAD_JSONL, "bad.jsonl:2: invalid UTF-8 at byte offset 13 of the line (byte 0xc3)");
    const char *after2 = strchr(strchr(BAD_JSONL, '\n') + 1, '\n') + 1;
    expect_stop_error(dir, "g.jsonl", after2, "g.jsonl:1: malformed JSON");
    expect_stop_error(dir, "m.jsonl", "\n{\"title\":\"x\"}\n", "m.jsonl:2: no field \"text\" (missing_field)");
    expect_stop_error(dir, "n.jsonl", "{\"text\": 42}", "n.jsonl:1: field \"text\" is not a string");
    expect_stop_error(dir, "o.jsonl", "[1]", "o.jsonl:1: line is not a JSON object");
    /* Plain text: the line of the bad byte and its offset in the file. */
    expect_stop_error(dir, "t.txt", "line one\nline \xF0\x9F two\n", "t.txt:2: invalid UTF-8 at byte offset 14");

    /* Skip policy: the two good lines come through, the rest is counted. */
    char *f = hx_path_join(dir, "bad.jsonl");
    const char *paths[] = {f};
    hx_ingest_opts o = {.on_error = HX_INGEST_SKIP};
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(paths, 1, &o, &it), HX_OK);
    hx_doc d;
    assert_int_equal(hx_ingest_next(it, &d), 1);
    assert_int_equal(d.line, 1);
    assert_int_equal(hx_ingest_next(it, &d), 1);
    assert_int_equal(d.line, 7);
    assert_memory_equal(d.text, "ok 2", 4);
    assert_int_equal(hx_ingest_next(it, &d), 0);
    const hx_ingest_stats *s = hx_ingest_stats_of(it);
    assert_int_equal(s->docs, 2);
    assert_int_equal(s->skipped, 5);
    assert_int_equal(s->skipped_by[HX_REJECT_UTF8], 1);
    assert_int_equal(s->skipped_by[HX_REJECT_JSON], 2);
    assert_int_equal(s->skipped_by[HX_REJECT_MISSING], 1);
    assert_int_equal(s->skipped_by[HX_REJECT_NOT_STRING], 1);
    char report[256] = {0};
    FILE *mem = fmemopen(report, sizeof report - 1, "w");
    hx_ingest_report_skips(it, mem);
    fclose(mem);
    assert_string_equal(report, "skipped 5 documents (invalid_utf8 1, bad_json 2, missing_field 1, not_string 1)\n");
    hx_ingest_close(it);
    free(f);
    rm_rf(dir);
    free(dir);
}

static void test_too_large_and_bad_inputs(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *big = put(dir, "big.txt", "0123456789abcdefghij");
    char *small = put(dir, "small.txt", "short");
    char *lines = put(dir, "l.jsonl", "{\"text\":\"0123456789abcdefghij\"}\n{\"text\":\"fits\"}\n");
    const char *paths[] = {big, small, lines};
    hx_ingest_opts o = {.max_doc_bytes = 16};
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(paths, 3, &o, &it), HX_OK);
    hx_doc d;
    assert_int_equal(hx_ingest_next(it, &d), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "big.txt:1: document longer than 16 bytes (too_large)"));
    hx_ingest_close(it);
    o.on_error = HX_INGEST_SKIP;
    assert_int_equal(hx_ingest_open(paths, 3, &o, &it), HX_OK);
    assert_int_equal(hx_ingest_next(it, &d), 1);
    assert_memory_equal(d.text, "short", 5);
    assert_int_equal(hx_ingest_next(it, &d), 1);
    assert_memory_equal(d.text, "fits", 4);
    assert_int_equal(d.line, 2);
    assert_int_equal(hx_ingest_next(it, &d), 0);
    assert_int_equal(hx_ingest_stats_of(it)->skipped_by[HX_REJECT_TOO_LARGE], 2);
    hx_ingest_close(it);

    /* A missing path fails at open; a corrupt gzip fails while reading, naming the file. */
    const char *missing[] = {"/nonexistent/corpus.jsonl"};
    assert_int_equal(hx_ingest_open(missing, 1, NULL, &it), HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "/nonexistent/corpus.jsonl"));
    char *gz = hx_path_join(dir, "c.txt.gz");
    member m[] = {{"data", "some text that will be cut short by truncating the gzip stream"}};
    write_archive(gz, 0, ARCHIVE_FILTER_GZIP, m, 1);
    assert_int_equal(truncate(gz, 20), 0);
    const char *gp[] = {gz};
    assert_int_equal(hx_ingest_open(gp, 1, NULL, &it), HX_OK);
    int r = hx_ingest_next(it, &d);
    assert_true(r < 0);
    assert_non_null(strstr(hx_errmsg(), "c.txt.gz"));
    hx_ingest_close(it);
    free(gz);
    free(big);
    free(small);
    free(lines);
    rm_rf(dir);
    free(dir);
}

static void test_utf8_validator(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t valid;
    } cases[] = {
        {"abc", 3},
        {"\xE2\x82\xAC!", 4},          /* U+20AC */
        {"\xF0\x9F\x98\x80", 4},       /* U+1F600 */
        {"\xF4\x8F\xBF\xBF", 4},       /* U+10FFFF */
        {"a\xC0\x80", 1},              /* overlong NUL */
        {"a\xE0\x80\x80", 1},          /* overlong 3-byte */
        {"ab\xED\xA0\x80", 2},         /* surrogate U+D800 */
        {"\xF4\x90\x80\x80", 0},       /* above U+10FFFF */
        {"x\xE2\x82", 1},              /* truncated at the end */
        {"\x80", 0},                   /* lone continuation byte */
        {"\xF8\x88\x80\x80\x80", 0},   /* 5-byte form */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(hx_utf8_valid_prefix(cases[i].s, strlen(cases[i].s)), cases[i].valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_format_in_sorted_walk),
        cmocka_unit_test(test_custom_text_field),
        cmocka_unit_test(test_embedded_corpus_streams),
        cmocka_unit_test(test_bad_input_names_file_and_line),
        cmocka_unit_test(test_too_large_and_bad_inputs),
        cmocka_unit_test(test_utf8_validator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
