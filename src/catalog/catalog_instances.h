/*
 * catalog_instances: instance rows and the devices attached to them.
 * Conventions as in catalog_snapshots.h.
 */
#ifndef AMIBOX_CATALOG_INSTANCES_H
#define AMIBOX_CATALOG_INSTANCES_H

#include <stddef.h>

#include "catalog/catalog.h"
#include "util/buf.h"
#include "util/ids.h"

#define INSTANCE_USER_DATA_MAX (22 * 1024) /* base64 of 16 KiB */

struct instance_device {
	char device_name[64];
	char volume_id[ID_MAX];   /* EBS, or "" */
	char virtual_name[16];    /* ephemeralN, or "" */
	int delete_on_termination;
	long long attach_ms;
	char status[16];          /* attaching, attached, detaching, detached */
};

struct instance {
	char id[ID_MAX];
	char reservation_id[ID_MAX];
	char owner_id[13];
	char image_id[ID_MAX];
	char instance_type[32];
	char state[16];           /* pending, running, stopping, stopped, shutting-down, terminated */
	char state_reason_code[64];
	char state_reason_message[256];
	char transition_reason[256];
	long long launch_ms;
	long long state_ms;       /* when the state last changed */
	char kernel_id[ID_MAX];
	char ramdisk_id[ID_MAX];
	char *user_data;          /* base64, owned; NULL when none */
	char root_device_type[16];
	char root_device_name[64];
	char virtualization_type[16];
	char architecture[16];
	char shutdown_behavior[16];  /* stop, terminate */
	int disable_api_termination;
	char client_token[72];
	int launch_index;
	char private_ip[16];
	char zone[72];
	char key_name[256];
	char http_tokens[16];     /* optional, required */
	int disable_api_stop;
	int ebs_optimized;
	char cpu_credits[16];     /* standard, unlimited; "" for a type without credits */
	char request_digest[72];  /* of the launch request, for ClientToken retries */
	long long pid;            /* the QEMU process, 0 when none */
	struct instance_device *devices; /* owned */
	size_t ndevices;
};

void instance_release(struct instance *inst);
/* A deep copy of src (dst is the caller's to release). */
void instance_copy(struct instance *dst, const struct instance *src);
/* The EC2 state code of a state name (pending 0, running 16, ...). */
int instance_state_code(const char *state);

/* In a transaction: the row and its devices. */
int catalog_instance_insert(struct catalog *c, const struct instance *inst,
			    struct err *e);
/* Reads the instance with its devices. */
int catalog_instance_get(struct catalog *c, const char *id,
			 struct instance *inst, struct err *e);
/* In a transaction: sets state (with its time), reason code and message. */
int catalog_instance_set_state(struct catalog *c, const char *id,
			       const char *state, const char *reason_code,
			       const char *reason_message, struct err *e);
/* In a transaction: the QEMU process (0: none). */
int catalog_instance_set_pid(struct catalog *c, const char *id, long long pid,
			     struct err *e);
/* In a transaction: one attribute column by name. */
int catalog_instance_set_text(struct catalog *c, const char *id,
			      const char *column, const char *value,
			      struct err *e);
/* In a transaction. */
int catalog_instance_device_set(struct catalog *c, const char *instance_id,
				const struct instance_device *d, int position,
				struct err *e);
int catalog_instance_device_delete(struct catalog *c, const char *instance_id,
				   const char *device_name, struct err *e);
/* The instance a volume is attached to, if any (1 found, 0 none). */
int catalog_volume_attachment(struct catalog *c, const char *volume_id,
			      char instance_id[ID_MAX],
			      struct instance_device *d, struct err *e);

/* In a transaction: the public key the instance was launched with. */
int catalog_instance_key_set(struct catalog *c, const char *instance_id, const char *key_name,
			     const char *public_key, struct err *e);
/* Its public key into out (1), or 0 when launched without one. */
int catalog_instance_key_get(struct catalog *c, const char *instance_id, struct buf *out,
			     struct err *e);

/* The owner's first instance launched with the client token (1), or 0. */
int catalog_instance_by_token(struct catalog *c, const char *owner_id,
			      const char *token, struct instance *inst,
			      struct err *e);
/* Calls fn for the instances of a reservation, in ID order. */
int catalog_instance_each_in_reservation(struct catalog *c, const char *reservation_id,
					 int (*fn)(void *ctx, const struct instance *inst),
					 void *ctx, struct err *e);

/*
 * Calls fn for the owner's instances (all owners when owner_id is NULL)
 * with IDs after after, in ID order; the instance is released after fn.
 */
int catalog_instance_each(struct catalog *c, const char *owner_id,
			  const char *after,
			  int (*fn)(void *ctx, const struct instance *inst),
			  void *ctx, struct err *e);

#endif
