/*
 * The fleet cache's JSON as the jansson objects that fleet_raw_encode
 * replaced built it: the oracle of tests/unit/test_fleet_raw.c and
 * tests/fuzz/fuzz_fleet_raw_encode.c.  Strings that are not UTF-8 are
 * left out, as json_string() refuses them; NULL when json_pack fails (a
 * maintenance value that is not UTF-8).
 */
#ifndef GEO307_TESTS_FLEET_RAW_ORACLE_H
#define GEO307_TESTS_FLEET_RAW_ORACLE_H

#include <jansson.h>

#include "fleet_raw.h"

static json_t *
oracle(const struct raw_fleet *raw)
{
	json_t	*servers = json_object(), *loads = json_object(),
		*regions = json_object(), *h;
	size_t	 i, j;

	for (i = 0; i < raw->nservers; i++) {
		h = json_object();
		for (j = 0; j < raw->servers[i].n; j++)
			json_object_set_new(h, raw->servers[i].fields[j],
			    json_string(raw->servers[i].values[j]));
		json_object_set_new(servers, raw->servers[i].id, h);
		if (raw->servers[i].load != NULL)
			json_object_set_new(loads, raw->servers[i].id,
			    json_string(raw->servers[i].load));
	}
	for (i = 0; i < raw->nregions; i++)
		json_object_set_new(regions, raw->rnames[i],
		    json_string(raw->rstates[i]));
	return json_pack("{s:i, s:I, s:I, s:o, s:o, s:o, s:s?}", "format", 1,
	    "version", (json_int_t)raw->version, "taken",
	    (json_int_t)raw->taken_wall, "servers", servers, "loads", loads,
	    "regions", regions, "maintenance", raw->maintenance);
}

#endif
