/*
 * azure_arm: readers of the JSON bodies of Azure Resource Manager and of
 * the token endpoints, and the form the sync keeps record sets in.
 *
 * Pure functions over text and jansson values: no network, no global state
 * (unit-tested and fuzzed).  A reader checks the shape it needs and says
 * what is wrong ("value[3].properties.aRecords[0].ipv4Address is not a
 * string"); what the values mean (private addresses, names that place
 * into a zone) is checked by the record sources' common layer, as for
 * every other source.
 *
 * A synced record set is a JSON object:
 *   {"name": "acct.privatelink.blob.core.windows.net",  lower-case, no dot
 *    "zone": "privatelink.blob.core.windows.net",       or null: placed by name
 *    "type": "A" | "AAAA" | "CNAME",
 *    "ttl": 10,                                         or -1: [records] ttl
 *    "data": ["10.1.2.3"],                              addresses, or the target
 *    "id": "/subscriptions/.../privateDnsZones/Z/A/acct"}  where it came from
 */
#ifndef PLDNS_AZURE_ARM_H
#define PLDNS_AZURE_ARM_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * "Code: message" of an ARM or Entra error body ({"error": {"code",
 * "message"}} or {"error", "error_description"}), cut to BUFLEN, into BUF;
 * "" when the body has none.  Entra descriptions are cut at their first
 * line (the AADSTS code and sentence), never more.
 */
void arm_error_text(const char *body, size_t len, char *buf, size_t buflen);

/*
 * A token response: {"access_token": "...", "expires_in": 3599} (the number
 * may be a string, as managed identity endpoints write it).  *TOKEN is the
 * caller's.  Returns 0, or -1 with the reason in ERR.
 */
int arm_token_parse(const char *body, size_t len, char **token,
    long *expires_in, char *err, size_t errlen);

/*
 * A page of a list: {"value": [...], "nextLink": "..."}.  *ROOT is the
 * caller's (json_decref); *VALUE and *NEXT (NULL on the last page) are
 * borrowed from it.  Returns 0, or -1 with the reason in ERR.
 */
int arm_page_parse(const char *body, size_t len, json_t **root,
    json_t **value, const char **next, char *err, size_t errlen);

/*
 * A private DNS zone of a list: its ID (borrowed) and its name
 * (lower-case, no trailing dot) into NAME.  Returns 0 or -1 (ERR).
 */
int arm_zone_item(json_t *item, const char **id, char *name, size_t namelen,
    char *err, size_t errlen);

/*
 * A record set of zone ZONE (whose resource ID is ZONE_ID, for the record
 * set's own ID when it has none): *OUT gets a synced record set (new
 * reference), or NULL for a type that is not synced (SOA, MX, TXT, ...).
 * Returns 0 or -1 (ERR).
 */
int arm_recordset(json_t *item, const char *zone, const char *zone_id,
    json_t **out, char *err, size_t errlen);

/* A virtual network link: *FALLBACK is true for NxDomainRedirect. */
int arm_link_fallback(json_t *item, bool *fallback, char *err, size_t errlen);

/* A subscription of GET /subscriptions: its GUID (borrowed). */
int arm_subscription_item(json_t *item, const char **id, char *err,
    size_t errlen);

/*
 * A private endpoint: every customDnsConfigs entry becomes a synced record
 * set appended to SETS (zone null: its public name is placed through the
 * zone table), and *ID gets the endpoint's ID (borrowed), for its zone
 * groups.  Returns 0 or -1 (ERR).
 */
int arm_endpoint(json_t *item, json_t *sets, const char **id, char *err,
    size_t errlen);

/*
 * A private DNS zone group: the record sets of each of its zone configs
 * appended to SETS.  Each zone (the last segment of privateDnsZoneId) is
 * checked with KNOWN (the zone table or a configured zone): a zone group
 * pointing elsewhere is an error.  Returns 0 or -1 (ERR).
 */
int arm_zone_group(json_t *item, json_t *sets, bool (*known)(const char *zone,
    void *arg), void *arg, char *err, size_t errlen);

/* Sorts SETS (an array of synced record sets) into one order, with each
 * set's data sorted too, so that two syncs of the same data compare equal. */
void arm_sets_sort(json_t *sets);

/* A name lower-cased without its trailing dot into OUT; -1 when it is not
 * a name (empty, an empty label, a label over 63 octets, over 253 octets,
 * a space, control or non-ASCII character) or longer than OUTLEN - 1. */
int arm_name(const char *in, char *out, size_t outlen);

#endif
