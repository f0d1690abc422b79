/*
 * ec2/internal.h: what the EC2 Query handlers share (ec2.c and the
 * file of each resource).
 *
 * A handler reads parameters from ctx->q, checks them all before it changes
 * anything, writes its response document into ctx->w (created by ec2.c with
 * the action's Response root and the requestId), and returns 0; or returns -1
 * with e set, and ec2.c answers with the error document instead.
 */
#ifndef AMIBOX_EC2_INTERNAL_H
#define AMIBOX_EC2_INTERNAL_H

#include "api/api.h"
#include "api/query.h"
#include "api/xmlw.h"
#include "catalog/catalog_images.h"
#include "catalog/catalog_snapshots.h"

struct ec2_ctx {
	struct request *req;
	struct server *srv;
	struct query q;
	struct xmlw *w;
	const char *account;  /* the caller's account ID */
	/*
	 * A cacheable action's answer holds until then (ms since the epoch;
	 * a default second ahead): a handler whose answer time alone changes
	 * (a deprecation time passing) lowers it, to 0 for "not at all".
	 */
	long long cache_until_ms;
};

typedef int (*ec2_handler_fn)(struct ec2_ctx *ctx, struct err *e);

/* Writes <return>true</return>, for actions without other output. */
void ec2_return_true(struct ec2_ctx *ctx);
/*
 * Writes a resource's <tagSet> with the list's items; nothing at all when
 * the list is empty, as EC2 does.
 */
void ec2_write_tags(struct xmlw *w, const struct tag_list *tags);
/*
 * 400 InvalidParameterDependency: KmsKeyId given without Encrypted=true
 * (CopyImage, CopySnapshot, Ebs.KmsKeyId of a block device mapping,
 * CreateVolume), as EC2 answers it.
 */
int ec2_kms_needs_encrypted(struct err *e);
/* A required string parameter; 400 MissingParameter when absent or empty. */
const char *ec2_require(struct ec2_ctx *ctx, const char *name, struct err *e);

/*
 * Validates one tag (key 1-127 characters, no "aws:" prefix, value up to 256
 * characters); 400 InvalidParameterValue / InvalidTagKey.Malformed.
 */
int ec2_check_tag(const char *key, const char *value, struct err *e);
/*
 * Reads TagSpecification.N for resource_type (e.g. "snapshot") into tags;
 * a specification for another type is 400 InvalidParameterValue.
 */
int ec2_tag_specifications(struct ec2_ctx *ctx, const char *resource_type,
			   struct tag_list *tags, struct err *e);
/* As above for several resource types, each into its own list. */
int ec2_tag_specifications_for(struct ec2_ctx *ctx, const char *const *types,
			       struct tag_list *const *lists, size_t ntypes,
			       struct err *e);
/*
 * Joins IDs as EC2 lists them in an error message ("a, b, c"), into out (cap
 * bytes); IDs that do not fit end the list with ", ...".
 */
void ec2_join_ids(const char *const *ids, size_t n, char *out, size_t cap);
/* Counts UTF-8 characters (code points), not bytes. */
size_t ec2_utf8_chars(const char *s);

/*
 * A change to a permission attribute (an image's launchPermission, a
 * snapshot's createVolumePermission): grantees are "all" or account IDs.
 */
struct ec2_permission_change {
	char **add, **remove;
	size_t nadd, nremove;
};
void ec2_permission_change_release(struct ec2_permission_change *pc);

/* How one attribute's grantees are named and checked. */
struct ec2_permission_form {
	const char *structured;  /* "LaunchPermission": <it>.Add.N.UserId ... */
	size_t max;              /* grantees one request may name */
	/* 0 if grantee is a valid group ("all") or account ID, else -1 and e. */
	int (*check)(const char *grantee, int is_group, struct err *e);
};

/*
 * Reads both request forms into pc: <structured>.Add.N / .Remove.N with
 * UserId or Group, and OperationType with UserId.N / UserGroup.N.  The
 * flat lists without OperationType are what aws-sdk-go clients (Packer's
 * ami_users, snapshot_users) send beside the structured form, which they
 * repeat; EC2 accepts that, so they are taken as a restatement: each must
 * be named by the structured change (InvalidParameterCombination
 * otherwise), and alone they are 400 MissingParameter OperationType.
 */
int ec2_permission_change_read(struct ec2_ctx *ctx,
			       const struct ec2_permission_form *form,
			       struct ec2_permission_change *pc, struct err *e);

/* Filters on tags: "tag:KEY" (values match the value) and "tag-key". */
int ec2_is_tag_filter(const char *name);
int ec2_tags_match(const struct query_filter *f, const struct tag_list *tags);

/* MaxResults / NextToken of a paginated Describe. */
struct ec2_page {
	long long max_results; /* 0 when not given */
	char after[256];       /* resume after this key, "" at the start */
};
int ec2_page_read(struct ec2_ctx *ctx, long long min, long long max,
		  struct ec2_page *page, struct err *e);
/* Writes <nextToken> resuming after key. */
void ec2_page_write_token(struct ec2_ctx *ctx, const char *key);

/* The handlers, by resource. */
int ec2_describe_snapshots(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_snapshot(struct ec2_ctx *ctx, struct err *e);
int ec2_copy_snapshot(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_snapshot_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_modify_snapshot_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_reset_snapshot_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_create_tags(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_tags(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_tags(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_regions(struct ec2_ctx *ctx, struct err *e);
int ec2_register_image(struct ec2_ctx *ctx, struct err *e);
int ec2_deregister_image(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_images(struct ec2_ctx *ctx, struct err *e);
int ec2_copy_image(struct ec2_ctx *ctx, struct err *e);
int ec2_enable_image_deprecation(struct ec2_ctx *ctx, struct err *e);
int ec2_disable_image_deprecation(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_image_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_modify_image_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_reset_image_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_create_volume(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_volumes(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_volume(struct ec2_ctx *ctx, struct err *e);
int ec2_modify_volume(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_volumes_modifications(struct ec2_ctx *ctx, struct err *e);
int ec2_create_snapshot(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_instance_types(struct ec2_ctx *ctx, struct err *e);
int ec2_run_instances(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_instances(struct ec2_ctx *ctx, struct err *e);
int ec2_start_instances(struct ec2_ctx *ctx, struct err *e);
int ec2_stop_instances(struct ec2_ctx *ctx, struct err *e);
int ec2_terminate_instances(struct ec2_ctx *ctx, struct err *e);
int ec2_reboot_instances(struct ec2_ctx *ctx, struct err *e);
int ec2_get_console_output(struct ec2_ctx *ctx, struct err *e);
int ec2_get_console_screenshot(struct ec2_ctx *ctx, struct err *e);
int ec2_create_image(struct ec2_ctx *ctx, struct err *e);
int ec2_attach_volume(struct ec2_ctx *ctx, struct err *e);
int ec2_detach_volume(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_instance_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_modify_instance_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_availability_zones(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_instance_status(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_instance_credit_specifications(struct ec2_ctx *ctx, struct err *e);
int ec2_get_instance_uefi_data(struct ec2_ctx *ctx, struct err *e);
int ec2_create_snapshots(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_volume_status(struct ec2_ctx *ctx, struct err *e);

/*
 * Finds a snapshot the caller may see: 400 InvalidSnapshotID.Malformed for a
 * malformed ID, 400 InvalidSnapshot.NotFound when it does not exist or is
 * another account's private snapshot (the two are indistinguishable).
 */
int ec2_snapshot_lookup(struct ec2_ctx *ctx, const char *id, struct snapshot *s,
			struct err *e);
/* As ec2_snapshot_lookup, and the caller must own it (403 otherwise). */
int ec2_snapshot_owned(struct ec2_ctx *ctx, const char *id, struct snapshot *s,
		       struct err *e);

/*
 * What a caller may know of an image ID (ec2_image_find): nothing (it does
 * not exist, the caller may not launch it, or it was deregistered long
 * enough ago), the image (available, pending, failed, or deregistered a
 * moment ago), or that it is there but described by nothing (deregistered
 * a while ago, or still used by an instance): see catalog_images.h.
 */
enum ec2_image_seen { EC2_IMAGE_UNKNOWN, EC2_IMAGE_FOUND, EC2_IMAGE_HIDDEN };

/*
 * Returns an enum ec2_image_seen, *m filled (the caller's to release) only
 * for EC2_IMAGE_FOUND; -1 for a malformed ID (400 InvalidAMIID.Malformed)
 * or a catalog error.
 */
int ec2_image_find(struct ec2_ctx *ctx, const char *id, struct image *m,
		   struct err *e);
/*
 * Finds an image the caller may launch (owner, explicit grantee, public):
 * 400 InvalidAMIID.Malformed / InvalidAMIID.NotFound otherwise, the same
 * for an image that does not exist and one the caller may not see;
 * InvalidAMIID.Unavailable for one deregistered that still has a row.  The
 * image is the caller's to release (image_release) on success.
 */
int ec2_image_lookup(struct ec2_ctx *ctx, const char *id, struct image *m,
		     struct err *e);
/* As ec2_image_lookup, and the caller must own it (403 AuthFailure). */
int ec2_image_owned(struct ec2_ctx *ctx, const char *id, struct image *m,
		    struct err *e);
/*
 * Reads <prefix>.N.{DeviceName, VirtualName, NoDevice, Ebs.*} (e.g.
 * "BlockDeviceMapping") into *out (caller frees); checks each mapping alone.
 */
int ec2_read_bdm(struct ec2_ctx *ctx, const char *prefix,
		 struct image_bdm **out, size_t *count, struct err *e);
/*
 * Checks the mappings' snapshots (visible, not failed, volume large enough)
 * and fills default volume sizes; sets *pending if one is still pending.
 */
int ec2_check_bdm_snapshots(struct ec2_ctx *ctx, struct image_bdm *bdm,
			    size_t n, int *pending, struct err *e);

/* ---- instance-store images (bundles.c) --------------------------------- */

/* What RegisterImage takes from a checked bundle's manifest. */
struct bundle_facts {
	char type[16];            /* machine, kernel, ramdisk */
	char architecture[16];
	char kernel_id[ID_MAX];
	char ramdisk_id[ID_MAX];
	char root_device[IMAGE_DEVICE_MAX];
	struct image_bdm ephemerals[16];
	size_t nephemerals;
};

/*
 * Reads and checks the bundle at location for the caller (bundle_store.h:
 * access, signature, cloud key, size, every part's digest); fills facts.
 */
int ec2_bundle_facts(struct ec2_ctx *ctx, const char *location, struct bundle_facts *facts,
		     struct err *e);
/* Adds the manifest's ephemeral mappings the request did not map itself. */
int ec2_bundle_add_ephemerals(struct image *m, const struct bundle_facts *facts, struct err *e);
/*
 * A volume type with its IOPS and throughput (filling gp3's defaults):
 * 400 InvalidParameterValue / InvalidParameterCombination as EBS has them.
 */
int ec2_volume_type_check(const char *type, long long *iops,
			  long long *throughput, struct err *e);
/* The size range of a volume type. */
int ec2_volume_size_check(const char *type, long long size_gib, struct err *e);
/*
 * Finds the caller's volume: 400 InvalidVolumeID.Malformed, or
 * InvalidVolume.NotFound for a missing one or another account's.
 */
struct volume_row;
int ec2_volume_owned(struct ec2_ctx *ctx, const char *id, struct volume_row *v,
		     struct err *e);
/* The caller's instance: InvalidInstanceID.Malformed / .NotFound. */
struct instance;
int ec2_instance_owned(struct ec2_ctx *ctx, const char *id, struct instance *m,
		       struct err *e);
/* Image names, descriptions, and a name the caller already uses. */
int ec2_image_check_name(const char *name, struct err *e);
int ec2_image_check_description(const char *d, struct err *e);
int ec2_image_check_unique(struct ec2_ctx *ctx, const char *name, struct err *e);
/* Writes <blockDeviceMapping> with its items. */
void ec2_write_bdm(struct xmlw *w, const struct image_bdm *b, size_t n);

/* ---- key pairs (keypairs.c) -------------------------------------------- */

struct key_pair;
int ec2_create_key_pair(struct ec2_ctx *ctx, struct err *e);
int ec2_import_key_pair(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_key_pairs(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_key_pair(struct ec2_ctx *ctx, struct err *e);
/*
 * The caller's key pair of that ID: 400 InvalidKeyPair.NotFound for a
 * malformed ID, a missing one, and another account's.
 */
int ec2_keypair_owned(struct ec2_ctx *ctx, const char *id, struct key_pair *k,
		      struct err *e);

/* ---- instances (instances.c, instances_describe.c, ...) ----------------- */

/* Terminated instances stay visible (unnamed) for an hour, as on EC2. */
#define EC2_TERMINATED_VISIBLE_MS (60LL * 60 * 1000)

struct instance;
/*
 * The IDs a request named that do not exist (or are another account's),
 * each once, for the one NotFound EC2 answers naming them all: "The
 * instance IDs 'i-1, i-2' do not exist".
 */
struct ec2_missing {
	struct buf names;
	size_t count;
};
/* Notes ids[i], unless an earlier one of ids is the same ID. */
void ec2_missing_add(struct ec2_missing *m, const char *const *ids, size_t i);
/*
 * 0 when none is missing; else sets 400 code, "The <one|many> '<IDs>' does
 * not exist<tail>" (or "do not exist"), and returns -1.  Releases m.
 */
int ec2_missing_report(struct ec2_missing *m, struct err *e, const char *code,
		       const char *one, const char *many, const char *tail);
/*
 * The caller's instances named by ids (n of them) into out (n entries, the
 * caller's to release on success): 400 InvalidInstanceID.Malformed for a
 * malformed ID, else InvalidInstanceID.NotFound naming every ID that does
 * not exist or is another account's, as EC2 names them all.
 */
int ec2_instances_owned(struct ec2_ctx *ctx, const char *const *ids, size_t n,
			struct instance *out, struct err *e);
/* The CPU credit option a burstable type starts with (standard for t2,
 * unlimited for t3, t3a, t4g), NULL for a type without CPU credits. */
const char *ec2_credit_default(const char *instance_type);
/*
 * A Describe over the caller's instances (instances_describe.c): the ones
 * InstanceId.N names (each once, in the order given; at most max_ids when
 * set; not with MaxResults, as on EC2) or all of them from the page's
 * start, in ID order, each offered to item.  item returns 0 to go on, 1
 * when the page is full (ec2_instance_listing_full said so), -1 on failure (e set);
 * check, when set, may refuse a named instance before any is offered.
 * Filter.N is checked with filter_known and in l->filters while items run.
 */
struct ec2_instance_listing {
	struct ec2_ctx *ctx;
	struct err *e;
	int (*filter_known)(const char *name);
	int (*check)(const struct instance *m, struct err *e);
	int (*item)(struct ec2_instance_listing *l, const struct instance *m);
	void *arg;                    /* the action's own state */
	long long max_ids;
	/* Set by ec2_instance_listing_run. */
	struct query_filter *filters;
	size_t nfilters;
	long long now, limit, written;
	char last[ID_MAX];            /* the last instance taken, for nextToken */
	int by_id, more, failed;
};
int ec2_instance_listing_run(struct ec2_instance_listing *l, struct err *e);
/* Takes m onto the page; 1 (and l->more) when the page has no room left. */
int ec2_instance_listing_full(struct ec2_instance_listing *l, const struct instance *m);
/* 1 for an unnamed instance terminated over EC2_TERMINATED_VISIBLE_MS ago. */
int ec2_instance_listing_forgotten(const struct ec2_instance_listing *l, const struct instance *m);
/* The private DNS name DescribeInstances shows (0: none, once terminated). */
int ec2_instance_private_dns(const struct instance *m, char *out, size_t cap);
/* Writes one Instance item (<item>...</item>) with its tags. */
struct ec2_instance_net;
/* net (instances_network.c) is the instance's network, NULL when it has none. */
void ec2_write_instance(struct xmlw *w, const struct instance *m, const struct tag_list *tags,
			const struct ec2_instance_net *net);
/* Writes a reservation's reservationId, ownerId and groupSet. */
void ec2_write_reservation_head(struct xmlw *w, const char *reservation, const char *owner);

/* ---- VPC networking (vpcs.c, subnets.c, security_groups.c,
 * security_group_rules.c, network_misc.c, network_interfaces.c) ----------- */

struct vpc_row;
struct subnet_row;
struct security_group_row;

/* How a kind of network resource's IDs look and are refused. */
struct ec2_id_kind {
	const char *prefix;     /* "vpc" */
	const char *malformed;  /* "InvalidVpcID.Malformed" */
	const char *not_found;  /* "InvalidVpcID.NotFound" */
	const char *noun;       /* "vpc ID": "The vpc ID 'vpc-1' does not exist" */
};
extern const struct ec2_id_kind ec2_kind_vpc, ec2_kind_subnet, ec2_kind_sg,
	ec2_kind_sg_rule, ec2_kind_route_table, ec2_kind_network_acl,
	ec2_kind_internet_gateway, ec2_kind_eni, ec2_kind_dhcp_options, ec2_kind_address;
/* Refuses id: Malformed when it does not look like kind's, else NotFound. */
int ec2_id_refuse(const struct ec2_id_kind *kind, const char *id, struct err *e);

/*
 * The caller's default VPC, made with its subnets (one per zone), default
 * group, route table, ACL and gateway the first time anything needs it;
 * vpc_id is "" when the account has deleted it.
 */
int ec2_default_vpc(struct ec2_ctx *ctx, char vpc_id[ID_MAX], struct err *e);
/* The caller's resources (Malformed / NotFound as EC2 answers). */
int ec2_vpc_owned(struct ec2_ctx *ctx, const char *id, struct vpc_row *v, struct err *e);
int ec2_subnet_owned(struct ec2_ctx *ctx, const char *id, struct subnet_row *s,
		     struct err *e);
int ec2_sg_owned(struct ec2_ctx *ctx, const char *id, struct security_group_row *g,
		 struct err *e);
/*
 * A group by name: in the caller's default VPC, as EC2 looks names up;
 * InvalidGroup.NotFound otherwise.
 */
int ec2_sg_by_name(struct ec2_ctx *ctx, const char *name, struct security_group_row *g,
		   struct err *e);

/* The index of zone in the region's zones, -1 if it is none of them. */
int ec2_zone_index(const struct server *srv, const char *zone);
/* EC2's zone ID of the region's index-th zone (us-east-1 -> use1-az1, ...). */
void ec2_zone_id(const struct server *srv, size_t index, char out[32]);
/* The index of a zone ID, -1 if none. */
int ec2_zone_id_index(const struct server *srv, const char *zone_id);

/*
 * For CreateTags/DeleteTags: when id is a VPC resource's (vpc-, subnet-,
 * sg-, sgr-, rtb-, acl-, igw-, eni-, dopt-), checks that the caller owns
 * it, sets *type (EC2's resource type) and returns 1; 0 for other IDs;
 * -1 with the resource's NotFound error.
 */
int ec2_network_tag_target(struct ec2_ctx *ctx, const char *id, const char **type,
			   struct err *e);
/* EC2's DNS names of a private and a public address in this region. */
void ec2_private_dns_name(const struct server *srv, const char *ip, char out[128]);
void ec2_public_dns_name(const struct server *srv, const char *ip, char out[128]);

/*
 * Tells the data plane that what vpc_id's instances may send and receive
 * has changed (a security group's rules, an interface's groups).  Called
 * after the change committed.
 */
void ec2_network_changed(struct ec2_ctx *ctx, const char *vpc_id);

/*
 * A Describe of network resources: the IDs asked for (<id_param>.N),
 * Filter.N (names checked against a NULL-ended list; tag filters always
 * pass), MaxResults (5-1000) and NextToken.  ec2_listing_run reads them,
 * makes sure the caller's default VPC exists, and writes <set_name> with
 * what walk writes: walk goes through the account's resources in ID order
 * from page.after and, for each that ec2_listing_wants and
 * ec2_listing_match accept, writes an <item>, until ec2_listing_done.
 * Then an asked-for ID that was not seen is refused (kind's NotFound) and
 * nextToken is written when the page was cut.
 */
struct ec2_listing {
	struct ec2_ctx *ctx;
	struct err *e;
	const struct ec2_id_kind *kind;
	struct query_filter *filters;
	size_t nfilters;
	const char **ids;
	unsigned char *seen;
	size_t nids;
	struct ec2_page page;
	long long written;
	char last[ID_MAX];
	int more, failed;
	void *arg;            /* the walk's own */
};
int ec2_listing_run(struct ec2_ctx *ctx, const struct ec2_id_kind *kind, const char *id_param,
		    const char *const *filter_names, const char *set_name,
		    int (*walk)(struct ec2_listing *l), void *arg, struct err *e);
/* Whether id is asked for (every ID is when none are); marks it seen. */
int ec2_listing_wants(struct ec2_listing *l, const char *id);
/*
 * Whether the resource is written: its tags (read into tags; the caller
 * releases them) and filter(l, f, row) pass every filter, and the page has
 * room.  A failure to read sets l->failed.
 */
int ec2_listing_match(struct ec2_listing *l, const char *id, struct tag_list *tags,
		      int (*filter)(struct ec2_listing *l, const struct query_filter *f,
				    const void *row),
		      const void *row);
/* Whether the walk stops: the page is full or something failed. */
int ec2_listing_done(const struct ec2_listing *l);
/* 1 if value (NULL: the resource has none) matches one of f's values. */
int ec2_filter_hit(const struct query_filter *f, const char *value);
int ec2_filter_bool(const struct query_filter *f, int value);
int ec2_filter_int(const struct query_filter *f, long long value);
/* Writes a boolean <name><value>..</value></name> (EC2's AttributeBooleanValue). */
void ec2_write_attribute_bool(struct xmlw *w, const char *name, int value);
/* Reads <name>.Value as a boolean: 1/0, or -1 when absent; -2 when malformed (e set). */
int ec2_read_attribute_bool(struct ec2_ctx *ctx, const char *name, struct err *e);
/* Tags a resource just created, in the caller's transaction. */
int ec2_tags_put(struct ec2_ctx *ctx, const char *id, const char *type,
		 const struct tag_list *tags, struct err *e);

/* Security group rules (security_group_rules.c). */
struct sg_rule_row;
/* Whether EC2 shows ports for the protocol (tcp, udp, icmp, icmpv6). */
int ec2_sg_rule_has_ports(const char *protocol);
/* Group names, descriptions, rule descriptions: EC2's characters, < 256. */
int ec2_sg_check_text(const char *what, const char *text, struct err *e);
/* A SecurityGroupRule's fields (tags when non-NULL). */
void ec2_write_sg_rule(struct ec2_ctx *ctx, const struct sg_rule_row *r,
		       const struct tag_list *tags);
/* <name> with one direction's rules folded by protocol and ports. */
void ec2_write_ip_permissions(struct xmlw *w, const char *name, const struct sg_rule_row *rules,
			      size_t n, int egress);

int ec2_create_vpc(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_vpcs(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_vpc(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_vpc_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_modify_vpc_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_create_default_vpc(struct ec2_ctx *ctx, struct err *e);
int ec2_create_subnet(struct ec2_ctx *ctx, struct err *e);
int ec2_create_default_subnet(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_subnets(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_subnet(struct ec2_ctx *ctx, struct err *e);
int ec2_modify_subnet_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_create_security_group(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_security_groups(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_security_group(struct ec2_ctx *ctx, struct err *e);
int ec2_authorize_security_group_ingress(struct ec2_ctx *ctx, struct err *e);
int ec2_authorize_security_group_egress(struct ec2_ctx *ctx, struct err *e);
int ec2_revoke_security_group_ingress(struct ec2_ctx *ctx, struct err *e);
int ec2_revoke_security_group_egress(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_security_group_rules(struct ec2_ctx *ctx, struct err *e);
int ec2_modify_security_group_rules(struct ec2_ctx *ctx, struct err *e);
int ec2_update_security_group_rule_descriptions_ingress(struct ec2_ctx *ctx, struct err *e);
int ec2_update_security_group_rule_descriptions_egress(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_route_tables(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_network_acls(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_internet_gateways(struct ec2_ctx *ctx, struct err *e);
/* Elastic IP addresses (addresses.c). */
int ec2_allocate_address(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_addresses(struct ec2_ctx *ctx, struct err *e);
int ec2_associate_address(struct ec2_ctx *ctx, struct err *e);
int ec2_disassociate_address(struct ec2_ctx *ctx, struct err *e);
int ec2_release_address(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_addresses_attribute(struct ec2_ctx *ctx, struct err *e);
int ec2_create_internet_gateway(struct ec2_ctx *ctx, struct err *e);
int ec2_attach_internet_gateway(struct ec2_ctx *ctx, struct err *e);
int ec2_detach_internet_gateway(struct ec2_ctx *ctx, struct err *e);
int ec2_delete_internet_gateway(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_dhcp_options(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_network_interfaces(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_account_attributes(struct ec2_ctx *ctx, struct err *e);
int ec2_describe_instance_type_offerings(struct ec2_ctx *ctx, struct err *e);


/* ---- instances in VPCs (instances_network.c) --------------------------- */

struct eni;

/* Where a launch's instances go: resolved before the launch's transaction. */
struct ec2_run_network {
	char subnet_id[ID_MAX];
	char vpc_id[ID_MAX];
	char zone[72];
	char group_ids[16][ID_MAX];
	size_t ngroups;
	char group_vpc[ID_MAX];
	char private_ip[16];       /* "" picks the subnet's lowest free address */
	int public_ip;             /* the interface gets a public address when it runs */
	int delete_on_termination;
};
/*
 * Reads SubnetId, SecurityGroupId.N, SecurityGroup.N, PrivateIpAddress or
 * NetworkInterface.1.* (device index 0 only) and picks the subnet: the one
 * named, else the default subnet of zone (NULL: the region's first) in the
 * caller's default VPC, made if needed (not in a transaction).
 */
int ec2_run_network_check(struct ec2_ctx *ctx, const char *zone, long long count,
			  struct ec2_run_network *n, struct err *e);
/* In the launch's transaction: m's primary interface; sets m->private_ip. */
int ec2_run_network_apply(struct ec2_ctx *ctx, const struct ec2_run_network *n,
			  struct instance *m, struct err *e);

/* An instance's interfaces and its primary interface's group names and DNS names. */
struct ec2_instance_net {
	struct eni *enis;
	size_t n;
	char (*group_names)[256];
	char private_dns[128];
	char public_dns[128];
};
int ec2_instance_net_load(struct ec2_ctx *ctx, const struct instance *m,
			  struct ec2_instance_net *net, struct err *e);
void ec2_instance_net_release(struct ec2_instance_net *net);
/* The Instance item's subnetId, vpcId, ipAddress, groupSet, networkInterfaceSet. */
void ec2_write_instance_net(struct xmlw *w, const struct instance *m,
			    const struct ec2_instance_net *net);
/* DescribeInstances' network filters: known names, and whether m passes f. */
int ec2_instance_net_filter_known(const char *name);
int ec2_instance_net_match(const struct query_filter *f, const struct instance *m,
			   const struct ec2_instance_net *net);

#endif
