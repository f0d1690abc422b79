/*
 * samples: the public sample images a data directory gets on its first
 * start (see samples.c).
 */
#ifndef AMIBOX_COMPUTE_SAMPLES_H
#define AMIBOX_COMPUTE_SAMPLES_H

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"

/* Publishes the sample images unless they exist already. */
int samples_install(const char *dir, struct catalog *cat, struct blockstore *bs,
		    struct err *e);

#endif
