/*
 * catalog: SQLite connections, schema migrations and accounts (see catalog.h).
 *
 * Design notes
 *
 * Invariants:
 *  1. PRAGMA user_version is the number of migrations applied; migration N
 *     runs in one transaction together with setting user_version to N.
 *  2. journal_mode=WAL and synchronous=FULL on every connection: a commit
 *     that returned is on disk (fsync of the WAL) before any reply says so.
 *  3. Every hash in snapshot_blocks, but the all-zero block's, has a row in
 *     chunks, written in the same transaction and only after the chunk file
 *     is durable.  A chunks row that no block references is garbage: the
 *     transaction that drops the last reference deletes the row, and the
 *     file is unlinked after that transaction commits.
 *  4. A public snapshot is one with a snapshot_permissions row whose grantee
 *     is 'all'; other grantees are 12-digit account IDs.
 *  5. foreign_keys=ON: snapshot_blocks, snapshot_permissions and tags rows
 *     go with their snapshot.
 */
#include "catalog/catalog.h"
#include "catalog/catalog_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/ids.h"

#define CATALOG_STMT_CACHE 512

struct catalog_conn {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[CATALOG_STMT_CACHE];
	size_t ncache;
	int holds_write_lock;      /* inside catalog_begin .. commit/rollback */
	long long data_version;    /* PRAGMA data_version when last looked */
	long long changes;         /* sqlite3_total_changes64 then */
	struct catalog_conn *next; /* all connections, for catalog_close */
};

struct catalog {
	char *path;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	/*
	 * Serialises this process's write transactions.  SQLite would do it
	 * too, but its busy handler polls with sleeps; a mutex hands over at
	 * once.  Other processes still meet SQLite's own lock.
	 */
	pthread_mutex_t write_lock;
	struct catalog_conn *conns;
	/*
	 * Set once catalog_open has made or migrated the file: later
	 * connections open it without creating, so a catalog that disappears
	 * under a running daemon is an error, never a new empty one.
	 */
	int opened;
	/* Moves whenever some connection may have seen a commit since. */
	_Atomic unsigned long long generation;
	/* Accounts by access key, as read under a generation (every request
	 * looks its signer up). */
	pthread_mutex_t accounts_lock;
	struct {
		unsigned long long generation;
		int used;
		struct account account;
	} accounts[64];
};

/*
 * The migrations, in order.  Never edit one that has shipped: add another.
 */
static const char *const catalog_migrations[] = {
	/* 1: accounts, snapshots and their blocks, chunks, permissions, tags */
	"CREATE TABLE accounts ("
	"  account_id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  access_key TEXT NOT NULL UNIQUE,"
	"  secret TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE snapshots ("
	"  snapshot_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  volume_id TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  status_message TEXT,"
	"  start_ms INTEGER NOT NULL,"
	"  complete_ms INTEGER,"
	"  deadline_ms INTEGER,"
	"  volume_size INTEGER NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  parent_id TEXT,"
	"  source_id TEXT,"
	"  client_token TEXT,"
	"  request_digest TEXT,"
	"  progress INTEGER NOT NULL DEFAULT 0,"
	"  block_count INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX snapshots_owner ON snapshots(owner_id, snapshot_id);"
	"CREATE INDEX snapshots_pending ON snapshots(deadline_ms) WHERE status = 'pending';"
	"CREATE UNIQUE INDEX snapshots_token ON snapshots(owner_id, client_token)"
	"  WHERE client_token IS NOT NULL;"
	"CREATE TABLE chunks ("
	"  hash BLOB PRIMARY KEY,"
	"  stored_bytes INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE snapshot_blocks ("
	"  snapshot_id TEXT NOT NULL REFERENCES snapshots ON DELETE CASCADE,"
	"  block_index INTEGER NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  changed INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (snapshot_id, block_index)) WITHOUT ROWID;"
	"CREATE INDEX snapshot_blocks_hash ON snapshot_blocks(hash);"
	"CREATE TABLE settings ("
	"  name TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE snapshot_permissions ("
	"  snapshot_id TEXT NOT NULL REFERENCES snapshots ON DELETE CASCADE,"
	"  grantee TEXT NOT NULL,"
	"  PRIMARY KEY (snapshot_id, grantee)) WITHOUT ROWID;"
	"CREATE INDEX snapshot_permissions_grantee"
	"  ON snapshot_permissions(grantee, snapshot_id);"
	"CREATE TABLE tags ("
	"  resource_id TEXT NOT NULL,"
	"  resource_type TEXT NOT NULL,"
	"  owner_id TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (resource_id, key)) WITHOUT ROWID;"
	"CREATE INDEX tags_owner ON tags(owner_id, resource_id, key);"
	"CREATE INDEX tags_owner_key ON tags(owner_id, key, value);",
	/*
	 * 2: images (AMIs, AKIs, ARIs), their block device mappings and launch
	 * permissions; the built-in "amazon" account's PV-GRUB kernel images.
	 */
	"CREATE TABLE images ("
	"  image_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  description TEXT,"
	"  image_type TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  state_reason_code TEXT,"
	"  state_reason_message TEXT,"
	"  architecture TEXT NOT NULL,"
	"  virtualization_type TEXT NOT NULL,"
	"  root_device_type TEXT NOT NULL,"
	"  root_device_name TEXT,"
	"  image_location TEXT,"
	"  kernel_id TEXT,"
	"  ramdisk_id TEXT,"
	"  boot_mode TEXT,"
	"  ena_support INTEGER,"
	"  sriov_net_support TEXT,"
	"  imds_support TEXT,"
	"  tpm_support TEXT,"
	"  uefi_data TEXT,"
	"  hypervisor TEXT NOT NULL DEFAULT 'xen',"
	"  creation_ms INTEGER NOT NULL,"
	"  deprecation_ms INTEGER,"
	"  last_launched_ms INTEGER,"
	"  source_image_id TEXT,"
	"  source_image_region TEXT,"
	"  source_instance_id TEXT,"
	"  client_token TEXT);"
	"CREATE UNIQUE INDEX images_owner_name ON images(owner_id, name);"
	"CREATE INDEX images_owner ON images(owner_id, image_id);"
	"CREATE INDEX images_name ON images(name);"
	"CREATE INDEX images_pending ON images(image_id) WHERE state = 'pending';"
	"CREATE UNIQUE INDEX images_token ON images(owner_id, client_token)"
	"  WHERE client_token IS NOT NULL;"
	"CREATE TABLE image_block_devices ("
	"  image_id TEXT NOT NULL REFERENCES images ON DELETE CASCADE,"
	"  position INTEGER NOT NULL,"
	"  device_name TEXT NOT NULL,"
	"  virtual_name TEXT,"
	"  no_device INTEGER NOT NULL DEFAULT 0,"
	"  ebs INTEGER NOT NULL DEFAULT 0,"
	"  snapshot_id TEXT,"
	"  volume_size INTEGER,"
	"  delete_on_termination INTEGER,"
	"  volume_type TEXT,"
	"  iops INTEGER,"
	"  throughput INTEGER,"
	"  PRIMARY KEY (image_id, position)) WITHOUT ROWID;"
	"CREATE INDEX image_block_devices_snapshot"
	"  ON image_block_devices(snapshot_id) WHERE snapshot_id IS NOT NULL;"
	"CREATE TABLE image_permissions ("
	"  image_id TEXT NOT NULL REFERENCES images ON DELETE CASCADE,"
	"  grantee TEXT NOT NULL,"
	"  PRIMARY KEY (image_id, grantee)) WITHOUT ROWID;"
	"CREATE INDEX image_permissions_grantee"
	"  ON image_permissions(grantee, image_id);"
	"INSERT INTO images (image_id, owner_id, name, description, image_type,"
	"  state, architecture, virtualization_type, root_device_type,"
	"  image_location, hypervisor, creation_ms) VALUES ("
	"  'aki-c52987f4cb25897c7', '137112412989', 'pv-grub-hd0_1.05-i386.gz',"
	"  'PV-GRUB for unpartitioned root devices (hd0), i386', 'kernel', 'available',"
	"  'i386', 'paravirtual', 'instance-store',"
	"  'amazon-pv-grub/pv-grub-hd0_1.05-i386.gz.manifest.xml', 'xen', 1309478400000);"
	"INSERT INTO image_permissions VALUES ('aki-c52987f4cb25897c7', 'all');"
	"INSERT INTO images (image_id, owner_id, name, description, image_type,"
	"  state, architecture, virtualization_type, root_device_type,"
	"  image_location, hypervisor, creation_ms) VALUES ("
	"  'aki-8016ac08fca646364', '137112412989', 'pv-grub-hd0_1.05-x86_64.gz',"
	"  'PV-GRUB for unpartitioned root devices (hd0), x86_64', 'kernel', 'available',"
	"  'x86_64', 'paravirtual', 'instance-store',"
	"  'amazon-pv-grub/pv-grub-hd0_1.05-x86_64.gz.manifest.xml', 'xen', 1309478400000);"
	"INSERT INTO image_permissions VALUES ('aki-8016ac08fca646364', 'all');"
	"INSERT INTO images (image_id, owner_id, name, description, image_type,"
	"  state, architecture, virtualization_type, root_device_type,"
	"  image_location, hypervisor, creation_ms) VALUES ("
	"  'aki-5e6ff4f11bddc619d', '137112412989', 'pv-grub-hd00_1.05-i386.gz',"
	"  'PV-GRUB for a partitioned first disk (hd00), i386', 'kernel', 'available',"
	"  'i386', 'paravirtual', 'instance-store',"
	"  'amazon-pv-grub/pv-grub-hd00_1.05-i386.gz.manifest.xml', 'xen', 1309478400000);"
	"INSERT INTO image_permissions VALUES ('aki-5e6ff4f11bddc619d', 'all');"
	"INSERT INTO images (image_id, owner_id, name, description, image_type,"
	"  state, architecture, virtualization_type, root_device_type,"
	"  image_location, hypervisor, creation_ms) VALUES ("
	"  'aki-b4beffed1035276ac', '137112412989', 'pv-grub-hd00_1.05-x86_64.gz',"
	"  'PV-GRUB for a partitioned first disk (hd00), x86_64', 'kernel', 'available',"
	"  'x86_64', 'paravirtual', 'instance-store',"
	"  'amazon-pv-grub/pv-grub-hd00_1.05-x86_64.gz.manifest.xml', 'xen', 1309478400000);"
	"INSERT INTO image_permissions VALUES ('aki-b4beffed1035276ac', 'all');",
	/*
	 * 3: volumes.  base_snapshot_id is what the volume was created from
	 * (its lazy reads), map_snapshot_id the map its next snapshot starts
	 * from; snapshots a volume still needs are kept with owner_id ''.
	 */
	"CREATE TABLE volumes ("
	"  volume_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  size_gib INTEGER NOT NULL,"
	"  snapshot_id TEXT,"
	"  base_snapshot_id TEXT,"
	"  map_snapshot_id TEXT,"
	"  availability_zone TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  volume_type TEXT NOT NULL,"
	"  iops INTEGER,"
	"  throughput INTEGER,"
	"  create_ms INTEGER NOT NULL,"
	"  client_token TEXT,"
	"  request_digest TEXT,"
	"  mod_state TEXT,"
	"  mod_original_size INTEGER,"
	"  mod_original_type TEXT,"
	"  mod_original_iops INTEGER,"
	"  mod_original_throughput INTEGER,"
	"  mod_start_ms INTEGER,"
	"  mod_end_ms INTEGER);"
	"CREATE INDEX volumes_owner ON volumes(owner_id, volume_id);"
	"CREATE INDEX volumes_base ON volumes(base_snapshot_id);"
	"CREATE INDEX volumes_map ON volumes(map_snapshot_id);"
	"CREATE UNIQUE INDEX volumes_token ON volumes(owner_id, client_token)"
	"  WHERE client_token IS NOT NULL;"
	"CREATE INDEX snapshots_volume ON snapshots(volume_id);",
	/* 4: instances and the devices attached to them. */
	"CREATE TABLE instances ("
	"  instance_id TEXT PRIMARY KEY,"
	"  reservation_id TEXT NOT NULL,"
	"  owner_id TEXT NOT NULL,"
	"  image_id TEXT NOT NULL,"
	"  instance_type TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  state_reason_code TEXT,"
	"  state_reason_message TEXT,"
	"  transition_reason TEXT,"
	"  launch_ms INTEGER NOT NULL,"
	"  state_ms INTEGER NOT NULL,"
	"  kernel_id TEXT,"
	"  ramdisk_id TEXT,"
	"  user_data TEXT,"
	"  root_device_type TEXT NOT NULL,"
	"  root_device_name TEXT,"
	"  virtualization_type TEXT NOT NULL,"
	"  architecture TEXT NOT NULL,"
	"  shutdown_behavior TEXT NOT NULL,"
	"  disable_api_termination INTEGER NOT NULL DEFAULT 0,"
	"  client_token TEXT,"
	"  launch_index INTEGER NOT NULL,"
	"  private_ip TEXT NOT NULL,"
	"  zone TEXT NOT NULL,"
	"  key_name TEXT,"
	"  http_tokens TEXT,"
	"  pid INTEGER);"
	"CREATE INDEX instances_owner ON instances(owner_id, instance_id);"
	"CREATE INDEX instances_reservation ON instances(reservation_id);"
	"CREATE INDEX instances_token ON instances(owner_id, client_token)"
	"  WHERE client_token IS NOT NULL;"
	"CREATE INDEX instances_active ON instances(state)"
	"  WHERE state NOT IN ('stopped', 'terminated');"
	"CREATE TABLE instance_devices ("
	"  instance_id TEXT NOT NULL,"
	"  device_name TEXT NOT NULL,"
	"  position INTEGER NOT NULL,"
	"  volume_id TEXT,"
	"  virtual_name TEXT,"
	"  delete_on_termination INTEGER NOT NULL DEFAULT 0,"
	"  attach_ms INTEGER NOT NULL,"
	"  status TEXT NOT NULL,"
	"  PRIMARY KEY (instance_id, device_name)) WITHOUT ROWID;"
	"CREATE INDEX instance_devices_volume ON instance_devices(volume_id)"
	"  WHERE volume_id IS NOT NULL;",
	/* 5: the object store: buckets, objects, multipart uploads. */
	"CREATE TABLE buckets ("
	"  name TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  acl TEXT NOT NULL,"
	"  create_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX buckets_owner ON buckets(owner_id, name);"
	"CREATE TABLE objects ("
	"  bucket TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  owner_id TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  etag TEXT NOT NULL,"
	"  content_type TEXT,"
	"  metadata TEXT,"
	"  acl TEXT NOT NULL,"
	"  modified_ms INTEGER NOT NULL,"
	"  file TEXT NOT NULL,"
	"  PRIMARY KEY (bucket, key)) WITHOUT ROWID;"
	"CREATE TABLE uploads ("
	"  upload_id TEXT PRIMARY KEY,"
	"  bucket TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  owner_id TEXT NOT NULL,"
	"  content_type TEXT,"
	"  metadata TEXT,"
	"  acl TEXT NOT NULL,"
	"  create_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX uploads_bucket ON uploads(bucket, key);"
	"CREATE TABLE upload_parts ("
	"  upload_id TEXT NOT NULL,"
	"  part_number INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  etag TEXT NOT NULL,"
	"  modified_ms INTEGER NOT NULL,"
	"  file TEXT NOT NULL,"
	"  PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;",
	/* 6: X.509 signing certificates (IAM), which bundle manifests are signed with. */
	"CREATE TABLE signing_certificates ("
	"  certificate_id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  upload_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX signing_certificates_account"
	"  ON signing_certificates(account_id, fingerprint);",
	/*
	 * 7: S3 checksums (the algorithm an upload was created with, each part's
	 * checksum, an object's own) and the parts a completed multipart object
	 * was made of, in order, so that GetObject can serve one part.
	 */
	"ALTER TABLE uploads ADD COLUMN checksum_algorithm TEXT;"
	"ALTER TABLE upload_parts ADD COLUMN checksum TEXT;"
	"ALTER TABLE objects ADD COLUMN parts_count INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE objects ADD COLUMN checksum_algorithm TEXT;"
	"ALTER TABLE objects ADD COLUMN checksum_type TEXT;"
	"ALTER TABLE objects ADD COLUMN checksum TEXT;"
	"CREATE TABLE object_parts ("
	"  bucket TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  position INTEGER NOT NULL,"
	"  part_number INTEGER NOT NULL,"
	"  first_byte INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  checksum TEXT,"
	"  PRIMARY KEY (bucket, key, position)) WITHOUT ROWID;",
	/*
	 * 8: a deregistered image keeps its row for a while (catalog_images.h):
	 * when it was deregistered; its name is free at once; the instances
	 * launched from an image, found by image.
	 */
	"ALTER TABLE images ADD COLUMN deregistered_ms INTEGER;"
	"DROP INDEX images_owner_name;"
	"CREATE UNIQUE INDEX images_owner_name ON images(owner_id, name)"
	"  WHERE state != 'deregistered';"
	"CREATE INDEX images_deregistered ON images(deregistered_ms)"
	"  WHERE state = 'deregistered';"
	"CREATE INDEX instances_image ON instances(image_id, state);",
	/* 9: EC2 key pairs (public keys only), unique by name in an account. */
	"CREATE TABLE key_pairs ("
	"  key_pair_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  key_type TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  public_key TEXT NOT NULL,"
	"  create_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX key_pairs_owner_name ON key_pairs(owner_id, name);",
	/*
	 * 10: instances: stop protection, EBS optimization, the CPU credit
	 * option of burstable types, and the digest of the launch request
	 * (a retry with its ClientToken must ask for the same).
	 */
	"ALTER TABLE instances ADD COLUMN disable_api_stop INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN ebs_optimized INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN cpu_credits TEXT;"
	"ALTER TABLE instances ADD COLUMN request_digest TEXT;",
	/*
	 * 11: VPC networking (catalog_network.h): each account's default VPC
	 * and DHCP options, VPCs, subnets, route tables and their routes,
	 * network ACLs, internet gateways, security groups and their rules,
	 * network interfaces and their groups.  An address is a subnet's
	 * at most once (network_interfaces_address), a public one at most
	 * once in all.
	 */
	"CREATE TABLE network_accounts ("
	"  account_id TEXT PRIMARY KEY,"
	"  default_vpc_id TEXT,"
	"  default_vpc_made INTEGER NOT NULL DEFAULT 0,"
	"  dhcp_options_id TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE dhcp_options ("
	"  dhcp_options_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  domain_name TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX dhcp_options_owner ON dhcp_options(owner_id, dhcp_options_id);"
	"CREATE TABLE vpcs ("
	"  vpc_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  cidr_block TEXT NOT NULL,"
	"  cidr_assoc_id TEXT NOT NULL,"
	"  dhcp_options_id TEXT NOT NULL,"
	"  tenancy TEXT NOT NULL,"
	"  is_default INTEGER NOT NULL,"
	"  dns_support INTEGER NOT NULL,"
	"  dns_hostnames INTEGER NOT NULL,"
	"  nau_metrics INTEGER NOT NULL,"
	"  create_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX vpcs_owner ON vpcs(owner_id, vpc_id);"
	"CREATE TABLE subnets ("
	"  subnet_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  vpc_id TEXT NOT NULL,"
	"  cidr_block TEXT NOT NULL,"
	"  zone TEXT NOT NULL,"
	"  default_for_az INTEGER NOT NULL,"
	"  map_public_ip INTEGER NOT NULL,"
	"  hostname_type TEXT NOT NULL,"
	"  dns_a_record INTEGER NOT NULL,"
	"  dns_aaaa_record INTEGER NOT NULL,"
	"  acl_assoc_id TEXT NOT NULL,"
	"  create_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX subnets_owner ON subnets(owner_id, subnet_id);"
	"CREATE INDEX subnets_vpc ON subnets(vpc_id, subnet_id);"
	"CREATE TABLE route_tables ("
	"  route_table_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  vpc_id TEXT NOT NULL,"
	"  main_assoc_id TEXT) WITHOUT ROWID;"
	"CREATE INDEX route_tables_owner ON route_tables(owner_id, route_table_id);"
	"CREATE INDEX route_tables_vpc ON route_tables(vpc_id);"
	"CREATE TABLE routes ("
	"  route_table_id TEXT NOT NULL REFERENCES route_tables ON DELETE CASCADE,"
	"  destination TEXT NOT NULL,"
	"  gateway_id TEXT NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  PRIMARY KEY (route_table_id, destination)) WITHOUT ROWID;"
	"CREATE INDEX routes_gateway ON routes(gateway_id);"
	"CREATE TABLE network_acls ("
	"  network_acl_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  vpc_id TEXT NOT NULL,"
	"  is_default INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX network_acls_owner ON network_acls(owner_id, network_acl_id);"
	"CREATE INDEX network_acls_vpc ON network_acls(vpc_id);"
	"CREATE TABLE internet_gateways ("
	"  internet_gateway_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  vpc_id TEXT,"
	"  create_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX internet_gateways_owner ON internet_gateways(owner_id, internet_gateway_id);"
	"CREATE INDEX internet_gateways_vpc ON internet_gateways(vpc_id) WHERE vpc_id IS NOT NULL;"
	"CREATE TABLE security_groups ("
	"  group_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  vpc_id TEXT NOT NULL,"
	"  group_name TEXT NOT NULL,"
	"  description TEXT NOT NULL,"
	"  create_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX security_groups_owner ON security_groups(owner_id, group_id);"
	"CREATE UNIQUE INDEX security_groups_name ON security_groups(vpc_id, group_name);"
	"CREATE TABLE security_group_rules ("
	"  rule_id TEXT NOT NULL UNIQUE,"
	"  group_id TEXT NOT NULL REFERENCES security_groups ON DELETE CASCADE,"
	"  owner_id TEXT NOT NULL,"
	"  egress INTEGER NOT NULL,"
	"  protocol TEXT NOT NULL,"
	"  from_port INTEGER NOT NULL,"
	"  to_port INTEGER NOT NULL,"
	"  cidr_ipv4 TEXT,"
	"  cidr_ipv6 TEXT,"
	"  prefix_list_id TEXT,"
	"  ref_group_id TEXT,"
	"  ref_owner_id TEXT,"
	"  description TEXT);"
	"CREATE INDEX security_group_rules_group ON security_group_rules(group_id);"
	"CREATE INDEX security_group_rules_owner ON security_group_rules(owner_id, rule_id);"
	"CREATE INDEX security_group_rules_ref ON security_group_rules(ref_group_id)"
	"  WHERE ref_group_id IS NOT NULL;"
	"CREATE TABLE network_interfaces ("
	"  eni_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  subnet_id TEXT NOT NULL,"
	"  vpc_id TEXT NOT NULL,"
	"  zone TEXT NOT NULL,"
	"  private_ip TEXT NOT NULL,"
	"  private_ip_num INTEGER NOT NULL,"
	"  mac TEXT NOT NULL,"
	"  public_ip TEXT,"
	"  want_public_ip INTEGER NOT NULL,"
	"  description TEXT NOT NULL,"
	"  source_dest_check INTEGER NOT NULL,"
	"  create_ms INTEGER NOT NULL,"
	"  instance_id TEXT,"
	"  attachment_id TEXT,"
	"  device_index INTEGER,"
	"  delete_on_termination INTEGER,"
	"  attach_ms INTEGER) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX network_interfaces_address"
	"  ON network_interfaces(subnet_id, private_ip_num);"
	"CREATE INDEX network_interfaces_owner ON network_interfaces(owner_id, eni_id);"
	"CREATE INDEX network_interfaces_vpc ON network_interfaces(vpc_id);"
	"CREATE INDEX network_interfaces_instance ON network_interfaces(instance_id, device_index)"
	"  WHERE instance_id IS NOT NULL;"
	"CREATE UNIQUE INDEX network_interfaces_public ON network_interfaces(public_ip)"
	"  WHERE public_ip IS NOT NULL;"
	"CREATE TABLE network_interface_groups ("
	"  eni_id TEXT NOT NULL REFERENCES network_interfaces ON DELETE CASCADE,"
	"  group_id TEXT NOT NULL,"
	"  position INTEGER NOT NULL,"
	"  PRIMARY KEY (eni_id, group_id)) WITHOUT ROWID;"
	"CREATE INDEX network_interface_groups_group ON network_interface_groups(group_id, eni_id);",
	/*
	 * 12: the public key an instance was launched with, as the metadata
	 * service gives it (EC2 keeps it with the instance: deleting the key
	 * pair later changes nothing for the instance).
	 */
	"CREATE TABLE instance_keys ("
	"  instance_id TEXT PRIMARY KEY,"
	"  key_name TEXT NOT NULL,"
	"  public_key TEXT NOT NULL) WITHOUT ROWID;",
	/*
	 * 13: usage metering (src/metering/metering.h): usage records, written
	 * by the billable state transitions, at most one open per subject and
	 * usage type; found by account and billed end for reports.  And the
	 * lineage of each completed snapshot, in completion order (seq), for
	 * EBS's incremental snapshot billing.
	 */
	"CREATE TABLE usage_records ("
	"  record_id INTEGER PRIMARY KEY,"
	"  account_id TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  resource_id TEXT NOT NULL,"
	"  usage_type TEXT NOT NULL,"
	"  region TEXT NOT NULL,"
	"  quantity REAL NOT NULL,"
	"  start_ms INTEGER NOT NULL,"
	"  end_ms INTEGER,"
	"  min_end_ms INTEGER NOT NULL DEFAULT 0,"
	"  until_ms INTEGER NOT NULL,"
	"  tags TEXT);"
	"CREATE UNIQUE INDEX usage_records_open ON usage_records(subject, usage_type)"
	"  WHERE end_ms IS NULL;"
	"CREATE INDEX usage_records_account ON usage_records(account_id, until_ms);"
	"CREATE INDEX usage_records_until ON usage_records(until_ms);"
	"CREATE TABLE usage_snapshots ("
	"  seq INTEGER PRIMARY KEY,"
	"  snapshot_id TEXT NOT NULL UNIQUE,"
	"  account_id TEXT NOT NULL,"
	"  lineage TEXT NOT NULL,"
	"  live INTEGER NOT NULL);"
	"CREATE INDEX usage_snapshots_lineage ON usage_snapshots(lineage, account_id, seq)"
	"  WHERE live = 1;",
	/*
	 * 14: Elastic IP addresses (catalog_addresses.c): an account's
	 * addresses from the public pool, each associated with at most one
	 * network interface, which then has it as its public address.
	 */
	"CREATE TABLE addresses ("
	"  allocation_id TEXT PRIMARY KEY,"
	"  owner_id TEXT NOT NULL,"
	"  public_ip TEXT NOT NULL UNIQUE,"
	"  create_ms INTEGER NOT NULL,"
	"  association_id TEXT UNIQUE,"
	"  eni_id TEXT UNIQUE,"
	"  private_ip TEXT) WITHOUT ROWID;"
	"CREATE INDEX addresses_owner ON addresses(owner_id, allocation_id);",
};

int catalog_schema_version(void)
{
	return (int)(sizeof catalog_migrations / sizeof catalog_migrations[0]);
}

static void catalog_conn_free(struct catalog_conn *conn)
{
	for (size_t i = 0; i < conn->ncache; i++)
		sqlite3_finalize(conn->cache[i].stmt);
	sqlite3_close(conn->db);
	free(conn);
}

static int catalog_configure(sqlite3 *db, struct err *e)
{
	static const char *const pragmas =
		"PRAGMA journal_mode=WAL;"
		"PRAGMA synchronous=FULL;"
		"PRAGMA foreign_keys=ON;"
		"PRAGMA temp_store=MEMORY;"
		"PRAGMA cache_size=-16000;"
		"PRAGMA mmap_size=268435456;";
	char *msg = NULL;
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		err_internal(e, "cannot configure the catalog: %s",
			     msg ? msg : "unknown error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

const char *catalog_path(const struct catalog *c)
{
	return c->path;
}

sqlite3 *catalog_db(struct catalog *c, struct err *e)
{
	struct catalog_conn *conn = pthread_getspecific(c->key);
	if (conn)
		return conn->db;
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		    (c->opened ? 0 : SQLITE_OPEN_CREATE);
	if (sqlite3_open_v2(c->path, &db, flags, NULL) != SQLITE_OK) {
		err_internal(e, "cannot open the catalog '%s': %s", c->path,
			     db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	if (catalog_configure(db, e) < 0) {
		sqlite3_close(db);
		return NULL;
	}
	conn = xcalloc(1, sizeof *conn);
	conn->db = db;
	pthread_mutex_lock(&c->lock);
	conn->next = c->conns;
	c->conns = conn;
	pthread_mutex_unlock(&c->lock);
	pthread_setspecific(c->key, conn);
	return db;
}

sqlite3_stmt *catalog_stmt(struct catalog *c, const char *sql, struct err *e)
{
	if (!catalog_db(c, e))
		return NULL;
	struct catalog_conn *conn = pthread_getspecific(c->key);
	for (size_t i = 0; i < conn->ncache; i++) {
		if (conn->cache[i].sql == sql) {
			sqlite3_stmt *stmt = conn->cache[i].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v3(conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &stmt, NULL) != SQLITE_OK) {
		err_internal(e, "catalog statement failed to prepare: %s",
			     sqlite3_errmsg(conn->db));
		return NULL;
	}
	if (conn->ncache < CATALOG_STMT_CACHE) {
		conn->cache[conn->ncache].sql = sql;
		conn->cache[conn->ncache].stmt = stmt;
		conn->ncache++;
	} else {
		/* A full cache is a programming error: raise the limit. */
		fprintf(stderr, "amibox: BUG: catalog statement cache is full\n");
		abort();
	}
	return stmt;
}

int catalog_generation(struct catalog *c, unsigned long long *out, struct err *e)
{
	static const char sql[] = "PRAGMA data_version";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	struct catalog_conn *conn = pthread_getspecific(c->key);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_reset(stmt);
		return catalog_sqlite_error(c, "reading the data version", e);
	}
	/*
	 * Other connections' commits (this process's other threads, other
	 * processes) move data_version; this connection's own writes move
	 * its change count.  Either moves the shared generation, which this
	 * call reads after looking, so that a value read before a commit is
	 * never read again after it.
	 */
	long long version = sqlite3_column_int64(stmt, 0);
	long long changes = sqlite3_total_changes64(conn->db);
	sqlite3_reset(stmt);
	if (version != conn->data_version || changes != conn->changes) {
		conn->data_version = version;
		conn->changes = changes;
		c->generation++;
	}
	*out = c->generation;
	return 0;
}

static size_t catalog_account_slot(const char *access_key)
{
	unsigned h = 5381;
	for (const char *p = access_key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h % 64;
}

int catalog_account_recall(struct catalog *c, const char *access_key,
			   unsigned long long generation, struct account *out)
{
	size_t i = catalog_account_slot(access_key);
	int hit;
	pthread_mutex_lock(&c->accounts_lock);
	hit = c->accounts[i].used && c->accounts[i].generation == generation &&
	      !strcmp(c->accounts[i].account.access_key, access_key);
	if (hit)
		*out = c->accounts[i].account;
	pthread_mutex_unlock(&c->accounts_lock);
	return hit;
}

void catalog_account_remember(struct catalog *c, unsigned long long generation,
			      const struct account *a)
{
	size_t i = catalog_account_slot(a->access_key);
	pthread_mutex_lock(&c->accounts_lock);
	c->accounts[i].used = 1;
	c->accounts[i].generation = generation;
	c->accounts[i].account = *a;
	pthread_mutex_unlock(&c->accounts_lock);
}

int catalog_sqlite_error(struct catalog *c, const char *what, struct err *e)
{
	sqlite3 *db = catalog_db(c, NULL);
	return err_internal(e, "catalog: %s: %s", what,
			    db ? sqlite3_errmsg(db) : "no connection");
}

int catalog_exec(struct catalog *c, const char *sql, struct err *e)
{
	sqlite3 *db = catalog_db(c, e);
	char *msg = NULL;
	if (!db)
		return -1;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_internal(e, "catalog: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void catalog_release_write(struct catalog *c)
{
	struct catalog_conn *conn = pthread_getspecific(c->key);
	if (conn && conn->holds_write_lock) {
		conn->holds_write_lock = 0;
		pthread_mutex_unlock(&c->write_lock);
	}
}

int catalog_begin(struct catalog *c, struct err *e)
{
	if (!catalog_db(c, e))
		return -1;
	struct catalog_conn *conn = pthread_getspecific(c->key);
	if (conn->holds_write_lock)
		return err_internal(e, "BUG: nested catalog transaction");
	pthread_mutex_lock(&c->write_lock);
	conn->holds_write_lock = 1;
	if (catalog_exec(c, "BEGIN IMMEDIATE", e) < 0) {
		catalog_release_write(c);
		return -1;
	}
	return 0;
}

int catalog_commit(struct catalog *c, struct err *e)
{
	if (catalog_exec(c, "COMMIT", e) < 0) {
		catalog_rollback(c);
		return -1;
	}
	catalog_release_write(c);
	return 0;
}

void catalog_rollback(struct catalog *c)
{
	sqlite3 *db = catalog_db(c, NULL);
	if (db && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	catalog_release_write(c);
}

static int catalog_migrate(struct catalog *c, struct err *e)
{
	sqlite3_stmt *stmt = NULL;
	sqlite3 *db = catalog_db(c, e);
	if (!db)
		return -1;
	/*
	 * Up to date: nothing to write, so no write lock.  (The NBD plugin and
	 * the metadata service open the catalog while the daemon writes.)
	 */
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW &&
	    sqlite3_column_int(stmt, 0) == catalog_schema_version()) {
		sqlite3_finalize(stmt);
		return 0;
	}
	sqlite3_finalize(stmt);
	for (;;) {
		if (catalog_begin(c, e) < 0)
			return -1;
		int version = -1;
		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt,
				       NULL) == SQLITE_OK &&
		    sqlite3_step(stmt) == SQLITE_ROW)
			version = sqlite3_column_int(stmt, 0);
		sqlite3_finalize(stmt);
		if (version < 0) {
			catalog_rollback(c);
			return catalog_sqlite_error(c, "reading the schema version", e);
		}
		if (version > catalog_schema_version()) {
			catalog_rollback(c);
			return err_internal(e,
				"the catalog has schema version %d, newer than this amibox (%d)",
				version, catalog_schema_version());
		}
		if (version == catalog_schema_version()) {
			catalog_rollback(c);
			return 0;
		}
		char setver[64];
		snprintf(setver, sizeof setver, "PRAGMA user_version=%d", version + 1);
		if (catalog_exec(c, catalog_migrations[version], e) < 0 ||
		    catalog_exec(c, setver, e) < 0 || catalog_commit(c, e) < 0) {
			catalog_rollback(c);
			return -1;
		}
	}
}

static void catalog_thread_exit(void *arg)
{
	/*
	 * The connection stays on c->conns and is closed by catalog_close(),
	 * which runs after the worker threads have stopped.
	 */
	(void)arg;
}

int catalog_open(const char *dir, struct catalog **out, struct err *e)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/catalog.db", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		err_internal(e, "cannot create the data directory '%s': %s", dir,
			     strerror(errno));
		buf_release(&path);
		return -1;
	}
	struct catalog *c = xcalloc(1, sizeof *c);
	c->path = buf_detach(&path);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->accounts_lock, NULL);
	pthread_mutex_init(&c->write_lock, NULL);
	pthread_key_create(&c->key, catalog_thread_exit);
	if (catalog_migrate(c, e) < 0) {
		catalog_close(c);
		return -1;
	}
	c->opened = 1;
	*out = c;
	return 0;
}

void catalog_close(struct catalog *c)
{
	if (!c)
		return;
	struct catalog_conn *conn = c->conns;
	while (conn) {
		struct catalog_conn *next = conn->next;
		catalog_conn_free(conn);
		conn = next;
	}
	pthread_key_delete(c->key);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->write_lock);
	pthread_mutex_destroy(&c->accounts_lock);
	free(c->path);
	free(c);
}

int catalog_strings(struct catalog *c, const char *sql, const char *id,
		    char ***strings, size_t *count, const char *what,
		    struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	char **out = NULL;
	size_t n = 0;
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out = xrealloc(out, (n + 1) * sizeof *out);
		out[n++] = xstrdup((const char *)sqlite3_column_text(stmt, 0));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < n; i++)
			free(out[i]);
		free(out);
		return catalog_sqlite_error(c, what, e);
	}
	*strings = out;
	*count = n;
	return 0;
}

/* The cached statement for sql with ?1 = id and, when arg is non-NULL, ?2 = arg. */
static sqlite3_stmt *catalog_bound(struct catalog *c, const char *sql,
				   const char *id, const char *arg, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return NULL;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if (arg)
		sqlite3_bind_text(stmt, 2, arg, -1, SQLITE_STATIC);
	return stmt;
}

int catalog_exists(struct catalog *c, const char *sql, const char *id,
		   const char *arg, const char *what, struct err *e)
{
	sqlite3_stmt *stmt = catalog_bound(c, sql, id, arg, e);
	if (!stmt)
		return -1;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc == SQLITE_ROW;
	return catalog_sqlite_error(c, what, e);
}

int catalog_run(struct catalog *c, const char *sql, const char *id,
		const char *arg, const char *what, struct err *e)
{
	sqlite3_stmt *stmt = catalog_bound(c, sql, id, arg, e);
	return stmt ? catalog_step_done(c, stmt, what, e) : -1;
}
