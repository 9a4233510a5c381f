/* chat.h - the chat protocol's text and bounds, command parsing and nick
 * rules: pure, no sockets.  Every server line is defined here, once; the
 * server and the tests both use these. */
#ifndef POLLSERV_CHAT_H
#define POLLSERV_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#define CHAT_NICK_MAX	32	/* longest nick, in bytes */
#define CHAT_WHO_MAX	100	/* nicks listed by /who before "..." */
/* Room for the longest reply that is not a relayed line: /who's
 * "* users (N): " plus 100 nicks and " ...". */
#define CHAT_REPLY_MAX	4096
/* "<" nick "> " ... LF around a relayed line, with room to spare: the
 * output buffer must hold the longest relay (--max-line + this). */
#define CHAT_RELAY_EXTRA	(CHAT_NICK_MAX + 8)
/* Room for any notice naming at most two nicks (join, leave, rename). */
#define CHAT_NOTICE_MAX	(CHAT_NICK_MAX * 2 + 64)

/* Server lines.  "* " is a notice, "! " an error to the sender only. */
#define CHAT_BYE		"* bye\n"
#define CHAT_SHUTTING_DOWN	"* server shutting down\n"
#define CHAT_INVALID_NICK	"! invalid nick\n"
#define CHAT_NICK_TAKEN		"! nick taken\n"
#define CHAT_UNKNOWN_COMMAND	"! unknown command\n"
#define CHAT_SERVER_FULL	"! server full\n"
#define CHAT_IDLE_TIMEOUT	"! idle timeout\n"
#define CHAT_LINE_TIMEOUT	"! line timeout\n"
/* A room shared over a bus (--bus): the link to the other nodes. */
#define CHAT_BUS_LOST		"* bus lost\n"
#define CHAT_BUS_RESTORED	"* bus restored\n"
/* printf formats of the lines that carry a value. */
#define CHAT_FMT_WELCOME	"* welcome, you are %s\n"
#define CHAT_FMT_JOINED		"* %s joined\n"
#define CHAT_FMT_LEFT		"* %s left\n"
#define CHAT_FMT_RENAMED	"* %s is now %.*s\n"	/* old, len, new */
#define CHAT_FMT_TOO_LONG	"! line too long (max %zu bytes)\n"
/* To a client whose nick another node took while the bus was down. */
#define CHAT_FMT_NICK_LOST	"* %s was taken while the bus was down; " \
				"you are now %s\n"
#define CHAT_FMT_USERS		"* users (%zu):"	/* then " nick"s, LF */
#define CHAT_WHO_MORE		" ..."			/* past CHAT_WHO_MAX */

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
