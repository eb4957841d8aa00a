/* Tests for harness/train/monitor: status line, durations, plain periodic
 * progress lines off a terminal, and the NaN/Inf policies. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "train/monitor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_status_line(void **state)
{
    (void)state;
    char b[256];
    hx_train_status(b, sizeof b, 120, 491520, 1048576, 3.21, 3e-4, 12345.0);
    assert_string_equal(b, "step 120 | tokens 491.5k/1.0M (46.9%) | loss 3.2100 | lr 3.00e-04 | 12.3k tok/s | ETA 45s");
    hx_train_status(b, sizeof b, 7, 900, 0, 10.5, 1e-3, 0);
    assert_string_equal(b, "step 7 | tokens 900 | loss 10.5000 | lr 1.00e-03 | 0 tok/s");
    hx_train_status(b, sizeof b, 1, 0, 1000, NAN, 0, 0);
    assert_non_null(strstr(b, "ETA ?"));
    assert_string_equal(hx_format_duration(b, sizeof b, 3725), "1h02m");
    assert_string_equal(hx_format_duration(b, sizeof b, 185), "3m05s");
    assert_string_equal(hx_format_duration(b, sizeof b, 2 * 86400 + 3 * 3600 + 5), "2d03h");
}

static void test_plain_lines_off_terminal(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    hx_progress p;
    hx_progress_init(&p, f, 3600); /* one line per hour unless forced */
    assert_int_equal(p.tty, 0);
    hx_train_progress(&p, 0, 1, 100, 1000, 5.0, 1e-3, 100);
    hx_train_progress(&p, 1, 2, 200, 1000, 4.0, 1e-3, 100);
    hx_train_progress(&p, 0, 3, 300, 1000, 3.0, 1e-3, 100);
    hx_progress_done(&p);
    rewind(f);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        assert_null(strchr(line, '\r')); /* no terminal control off a terminal */
        assert_non_null(strstr(line, "step 2 |"));
    }
    assert_int_equal(n, 1);
    fclose(f);
}

static void test_nan_policies(void **state)
{
    (void)state;
    hx_nan_guard stop = {.policy = HX_NAN_STOP};
    assert_int_equal(hx_nan_check(&stop, 16, 2.5, 1.0, NULL), HX_OK);
    assert_int_equal(hx_nan_check(&stop, 17, NAN, 1.0, "runs/x/ckpt/step-00000010"), HX_ENAN);
    assert_non_null(strstr(hx_errmsg(), "step 17: loss is nan"));
    assert_non_null(strstr(hx_errmsg(), "runs/x/ckpt/step-00000010"));
    assert_int_equal(hx_nan_check(&stop, 3, 1.0, INFINITY, NULL), HX_ENAN);
    assert_non_null(strstr(hx_errmsg(), "gradient norm is inf"));
    assert_non_null(strstr(hx_errmsg(), "none yet"));

    hx_nan_guard skip = {.policy = HX_NAN_SKIP, .max_consecutive = 2};
    assert_int_equal(hx_nan_check(&skip, 1, NAN, NAN, NULL), 1);
    assert_int_equal(hx_nan_check(&skip, 2, 1.0, 1.0, NULL), HX_OK);
    assert_int_equal(hx_nan_check(&skip, 3, INFINITY, 1.0, NULL), 1);
    assert_int_equal(hx_nan_check(&skip, 4, NAN, 1.0, NULL), 1);
    assert_int_equal(skip.skipped, 3);
    assert_int_equal(hx_nan_check(&skip, 5, NAN, 1.0, "ck/step-00000004"), HX_ENAN);
    assert_non_null(strstr(hx_errmsg(), "3 steps in a row"));
    assert_int_equal(skip.skipped, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_line),
        cmocka_unit_test(test_plain_lines_off_terminal),
        cmocka_unit_test(test_nan_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
