/* Shared includes and helpers for the cmocka test suites. */
#ifndef HX_TEST_UTIL_H
#define HX_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#endif
