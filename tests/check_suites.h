/* check_suites.h - one constructor per check_<module>.c, for the runner. */
#ifndef CHECK_SUITES_H
#define CHECK_SUITES_H

#include <check.h>

#endif
