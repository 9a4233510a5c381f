/* echo.h - the echo protocol: every byte back, in order. */
#ifndef POLLSERV_ECHO_H
#define POLLSERV_ECHO_H

#include "proto.h"

/* No framing and no server text in the stream (8-bit clean), and no
 * state: its `self` is NULL. */
extern const struct proto echo_proto;

#endif
