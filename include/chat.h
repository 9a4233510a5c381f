/* chat.h - chat command parsing and nick rules: pure, no sockets. */
#ifndef POLLSERV_CHAT_H
#define POLLSERV_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#define CHAT_NICK_MAX	32	/* longest nick, in bytes */
#define CHAT_WHO_MAX	100	/* nicks listed by /who before "..." */
/* Room for the longest reply that is not a relayed line: /who's
 * "* users (N): " plus 100 nicks and " ...". */
#define CHAT_REPLY_MAX	4096

enum chat_kind {
	CHAT_EMPTY,		/* empty line: ignored */
	CHAT_MESSAGE,		/* relay to everyone else */
	CHAT_NICK,		/* /nick NAME: arg is NAME, unchecked */
	CHAT_WHO,		/* /who */
	CHAT_QUIT,		/* /quit or the seed's "exit" */
	CHAT_UNKNOWN		/* any other line starting with '/' */
};

struct chat_command {
	enum chat_kind kind;
	const char *arg;	/* CHAT_NICK: the argument, may be empty */
	size_t	arg_len;
};

struct chat_command chat_parse(const char *line, size_t len);
bool	chat_nick_valid(const char *nick, size_t len);
/* guest<digits> belongs to the server's automatic names. */
bool	chat_nick_reserved(const char *nick, size_t len);
/* Nicks compare without regard to ASCII case: "Bob" and "bob" collide. */
bool	chat_nick_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
