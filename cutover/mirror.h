/*
 * mirror.h - what the proxy knows of the tables under deploy: an immutable
 * snapshot that cutover/deploy.c builds and the event loop publishes.  A
 * session plans each command with the set that is current when the command
 * starts, and keeps a reference until it ends, so a set is never freed
 * under a running plan.  Reference counts are touched on the loop thread
 * only.
 */
#ifndef CUTOVER_MIRROR_H
#define CUTOVER_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include "cutover/deploy.h"

struct mirror_table {
	uint64_t deploy_id;
	enum deploy_state state;
	char db[DEPLOY_NAME_SIZE];
	char table[DEPLOY_NAME_SIZE];
	char shadow[DEPLOY_NAME_SIZE];
	unsigned ncols;
	struct deploy_col *cols;     /* owned */
	unsigned npk;
	unsigned *pk;                /* owned */
};

struct mirror_set {
	unsigned refs;
	uint64_t version;
	unsigned n;
	struct mirror_table *tables;
};

struct mirror_set *mirror_set_ref(struct mirror_set *m);
void mirror_set_unref(struct mirror_set *m);

/*
 * The table `db`.`table` if it is under deploy.  Names compare as the
 * server compares them with lower_case_table_names = 0 (exact bytes).
 */
const struct mirror_table *mirror_set_find(const struct mirror_set *m, const char *db,
					   const char *table);

#endif
