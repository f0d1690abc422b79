#ifndef AMIBOX_COMPUTE_ACCEL_H
#define AMIBOX_COMPUTE_ACCEL_H

/*
 * Which accelerator QEMU gets: "kvm" or "tcg".
 *
 * --accel kvm and --accel tcg are obeyed as given.  "auto" takes KVM only
 * when it really helps: a /dev/kvm that opens is not enough, because a
 * nested or emulated KVM can take seconds over a BIOS boot that TCG does
 * in a tenth of one, and some stall real kernels.  So the choice boots the
 * sample boot sector (set to power off) under KVM with a deadline, in the
 * background while the daemon starts; a clean boot within the deadline
 * means KVM.  The answer is kept in DIR/accel for this boot of the host.
 */

struct accel;

/* Starts choosing (requested is "auto", "kvm" or "tcg"). */
struct accel *accel_start(const char *dir, const char *requested);
/* The choice; waits for the probe the first time. */
const char *accel_get(struct accel *a);
void accel_free(struct accel *a);

/* Probe deadline in milliseconds (a healthy KVM host needs ~0.2 s). */
#define ACCEL_PROBE_MS 1500

#endif
