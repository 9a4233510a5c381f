/* io_adaptive.h - the adaptive driver's spin-or-sleep decision, kept pure. */
#ifndef POLLSERV_IO_ADAPTIVE_H
#define POLLSERV_IO_ADAPTIVE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The decision takes the time as an argument instead of reading a clock,
 * so a unit test can drive it with a fake one.  Times are nanoseconds on
 * any monotonic clock.
 */
struct io_spin_policy {
	int64_t	budget_ns;	/* idle time spun before going to sleep */
	int64_t	idle_since_ns;	/* the current idle spell began; -1: none */
};

void	io_spin_policy_init(struct io_spin_policy *p, unsigned spin_us);
/*
 * Called before every wait: should this one sleep?  Work in the last
 * sweep restarts the budget and spins; an idle sweep spins until the
 * idle spell has lasted budget_ns, then says sleep.
 */
bool	io_spin_policy_sleep_now(struct io_spin_policy *p, int64_t now_ns,
	    bool last_sweep_idle);
/* A sleep ended, for whatever reason: spin again with the whole budget. */
void	io_spin_policy_woke(struct io_spin_policy *p, int64_t now_ns);

#endif
