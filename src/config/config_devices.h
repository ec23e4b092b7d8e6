/* config_devices.h: the disks and nics of the VM config, for config.c's key table. */
#ifndef BULWARK_CONFIG_DEVICES_H
#define BULWARK_CONFIG_DEVICES_H

#include "config/config_yaml.h"

/* Parse the disks / nics sequence N into the struct vm_config at BASE (cy_key parse functions). */
int config_parse_disks(struct cy_parser *p, const struct cy_key *k, const char *field,
		       yaml_node_t *n, void *base);
int config_parse_nics(struct cy_parser *p, const struct cy_key *k, const char *field,
		      yaml_node_t *n, void *base);

/* Fills what depends on the whole file (MACs derive from the name); after every key is parsed. */
void config_devices_defaults(struct vm_config *cfg);

#endif
