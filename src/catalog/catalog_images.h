/*
 * catalog_images: AMIs: image rows, their block device mappings and launch
 * permissions.  Tags live in the shared tags table (catalog_snapshots.h).
 *
 * Conventions as in catalog_snapshots.h: functions that change state expect
 * the caller's transaction; lookups return 1 found, 0 not found, -1 error.
 *
 * The built-in account AMAZON_ACCOUNT_ID (owner alias "amazon") publishes
 * the PV-GRUB kernel images; nobody can sign in as it.
 *
 * An image's states: pending -> available (or failed) -> deregistered.  A
 * deregistered image keeps its row, its mappings and its name (free for a
 * new image at once) but loses its tags and launch permissions; EC2's
 * DescribeImages shows it by ID for a short while, then answers nothing
 * for it, and only once no instance launched from it is left (terminated
 * ones aside) does its ID become unknown (see IMAGE_DEREGISTERED_*).
 * catalog_images_purge deletes the rows that far gone.
 */
#ifndef AMIBOX_CATALOG_IMAGES_H
#define AMIBOX_CATALOG_IMAGES_H

#include <stddef.h>

#include "catalog/catalog.h"
#include "util/ids.h"

#define AMAZON_ACCOUNT_ID "137112412989"
#define IMAGE_NAME_MAX 129
#define IMAGE_DESCRIPTION_MAX 1024 /* bytes; 255 characters */
#define IMAGE_DEVICE_MAX 64
#define IMAGE_BDM_MAX 64

/*
 * The defaults of `amibox serve --deregistered-shown S --deregistered-kept S`:
 * for how many seconds a deregistered image named by ID is still described
 * (state "deregistered"), and after how many its ID is unknown
 * (InvalidAMIID.NotFound) once no instance that is not terminated was
 * launched from it; in between, DescribeImages answers nothing for it.
 */
#define IMAGE_DEREGISTERED_SHOWN_S 60
#define IMAGE_DEREGISTERED_KEPT_S 3600

struct image_bdm {
	char device_name[IMAGE_DEVICE_MAX];
	char virtual_name[16];   /* ephemeralN, "" when none */
	int no_device;           /* a suppressed device */
	int ebs;                 /* an EBS volume (the fields below apply) */
	char snapshot_id[ID_MAX];/* "" for an empty volume */
	long long volume_size;   /* GiB */
	int delete_on_termination;
	char volume_type[16];
	long long iops;          /* 0 when none */
	long long throughput;    /* 0 when none */
	int inherited;           /* at launch: the image's own snapshot */
};

struct image {
	char id[ID_MAX];
	char owner_id[13];
	char name[IMAGE_NAME_MAX];
	char description[IMAGE_DESCRIPTION_MAX];
	int has_description;     /* description was given (even "") */
	char image_type[16];     /* machine, kernel, ramdisk */
	char state[16];          /* pending, available, failed, deregistered */
	char state_reason_code[64];
	char state_reason_message[256];
	char architecture[16];
	char virtualization_type[16];
	char root_device_type[16];  /* ebs, instance-store */
	char root_device_name[IMAGE_DEVICE_MAX];
	char image_location[256];
	char kernel_id[ID_MAX];
	char ramdisk_id[ID_MAX];
	char boot_mode[24];
	int ena_support;         /* -1 unset, 0, 1 */
	char sriov_net_support[16];
	char imds_support[8];
	char tpm_support[8];
	char uefi_data[256];
	char hypervisor[8];
	long long creation_ms;
	long long deprecation_ms; /* 0: not deprecated */
	long long last_launched_ms;
	char source_image_id[ID_MAX];
	char source_image_region[64];
	char source_instance_id[ID_MAX];
	char client_token[72];
	long long deregistered_ms; /* 0 unless deregistered */
	int is_public;           /* filled by the readers */
	struct image_bdm *bdm;   /* owned; image_release frees */
	size_t nbdm;
};

void image_release(struct image *img);
/* The owner alias for an owner ID ("amazon"), or NULL. */
const char *image_owner_alias(const char *owner_id);

/* In a transaction: the row, its mappings (in order) and no permissions. */
int catalog_image_insert(struct catalog *c, const struct image *img,
			 struct err *e);
/* Reads the image, in any state, with its mappings and is_public. */
int catalog_image_get(struct catalog *c, const char *id, struct image *img,
		      struct err *e);
/*
 * The owner's image with that name (deregistered ones have none) / client
 * token (any state: the token stays taken while the row lives).
 */
int catalog_image_by_name(struct catalog *c, const char *owner_id,
			  const char *name, struct image *img, struct err *e);
int catalog_image_by_token(struct catalog *c, const char *owner_id,
			   const char *token, struct image *img, struct err *e);
/*
 * In a transaction: the image turns deregistered at now_ms; its tags and
 * launch permissions go, its row and mappings stay.
 */
int catalog_image_deregister(struct catalog *c, const char *id,
			     long long now_ms, struct err *e);
/* In a transaction: deletes the image, its mappings, permissions, tags. */
int catalog_image_delete(struct catalog *c, const char *id, struct err *e);
/* 1 if an instance launched from the image is not terminated, else 0. */
int catalog_image_has_instances(struct catalog *c, const char *id,
				struct err *e);
/*
 * In a transaction: deletes the images deregistered at or before
 * before_ms from which no instance that is not terminated was launched.
 */
int catalog_images_purge(struct catalog *c, long long before_ms,
			 struct err *e);

/* In a transaction: updates the one column (by name) of an image. */
int catalog_image_set_text(struct catalog *c, const char *id,
			   const char *column, const char *value,
			   struct err *e);
int catalog_image_set_time(struct catalog *c, const char *id,
			   const char *column, long long ms, struct err *e);

/*
 * In a transaction: pending images whose snapshots are all completed become
 * available; those with a snapshot in error become failed.
 */
int catalog_images_settle(struct catalog *c, struct err *e);

/*
 * 1 if an image that is not deregistered maps the snapshot, 0 if none; the
 * first in *image.
 */
int catalog_snapshot_in_use(struct catalog *c, const char *snapshot_id,
			    char image[ID_MAX], struct err *e);

/* 1 if account may launch the image: owner, explicit grantee, public. */
int catalog_image_launchable(struct catalog *c, const struct image *img,
			     const char *account_id, struct err *e);

/* How catalog_image_each finds candidates (every one is checked again). */
struct image_scan {
	const char *account_id;  /* the caller: only what it may launch */
	const char *owner_id;    /* non-NULL: only this owner's images */
	const char *name_lo;     /* non-NULL: names in [name_lo, name_hi) */
	const char *name_hi;
	const char *after;       /* image IDs greater than this ("" = start) */
};
/*
 * Calls fn for each candidate image in ID order until fn returns non-zero;
 * deregistered images are never candidates.  The image passed to fn is
 * released after fn returns.
 */
int catalog_image_each(struct catalog *c, const struct image_scan *scan,
		       int (*fn)(void *ctx, const struct image *img),
		       void *ctx, struct err *e);

/* Launch permission grantees ("all" or account IDs), sorted; caller frees. */
int catalog_image_grantees(struct catalog *c, const char *id,
			   char ***grantees, size_t *count, struct err *e);
/* In a transaction. */
int catalog_image_grant(struct catalog *c, const char *id, const char *grantee,
			struct err *e);
int catalog_image_revoke(struct catalog *c, const char *id,
			 const char *grantee, struct err *e);
int catalog_image_revoke_all(struct catalog *c, const char *id, struct err *e);

#endif
