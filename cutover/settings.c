/*
 * settings.c - the backend's settings that the proxy's sessions need.
 */
#include "config.h"
#include "cutover/settings.h"
#include "cutover/ctl.h"
#include "proxy/log.h"

#include <stdint.h>
#include <string.h>

int settings_rollback_on_timeout(const struct conf *conf)
{
	struct ctl_params cp;
	struct ctl c;
	uint64_t v = 0;
	bool found = false;
	int out = -1;

	memset(&cp, 0, sizeof(cp));
	if (!ctl_params_from_conf(&cp, conf))
		return -1;
	if (ctl_connect(&c, &cp)) {
		if (ctl_u64(&c, &v, &found, "SELECT @@global.innodb_rollback_on_timeout") && found)
			out = v != 0;
		ctl_close(&c);
	}
	if (out < 0)
		log_warning("cannot read the backend's innodb_rollback_on_timeout (%s): a client's "
			    "transaction under a deploy request has its writes mirrored statement by statement",
			    c.error[0] != '\0' ? c.error : "no value");
	ctl_params_free(&cp);
	return out;
}
