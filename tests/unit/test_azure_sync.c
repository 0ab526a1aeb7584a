/*
 * Unit tests for the Azure sync: the readers of ARM and token JSON
 * (azure_arm.c), the client assertion JWT, secret and challenge files
 * (azure_auth.c), the record-by-record diff and the records synced data
 * gives through the sources' checks (azure_sync.c).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sync/azure_arm.h"
#include "sync/azure_auth.h"
#include "sync/azure_sync.h"
#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"
#include "data/records_load.h"
#include "util/util.h"
#include "wire/wire.h"

static char tmpdir[PATH_MAX];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pldns-azsync-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const char *
tfile(const char *name, const char *text, mode_t mode)
{
	static char path[4][PATH_MAX + 64];
	static int n;
	FILE *f;

	n = (n + 1) % 4;
	snprintf(path[n], sizeof(path[n]), "%s/%s", tmpdir, name);
	if (text != NULL) {
		assert_non_null(f = fopen(path[n], "w"));
		fputs(text, f);
		fclose(f);
		assert_int_equal(chmod(path[n], mode), 0);
	}
	return path[n];
}

#define S(x)	x, strlen(x)

/* ---- token and page readers ---- */

static void
test_token(void **state)
{
	char *tok, err[256];
	long secs;

	(void)state;
	assert_int_equal(arm_token_parse(S("{\"token_type\":\"Bearer\","
	    "\"expires_in\":3599,\"access_token\":\"abc\"}"), &tok, &secs, err,
	    sizeof(err)), 0);
	assert_string_equal(tok, "abc");
	assert_int_equal(secs, 3599);
	free(tok);
	/* Managed identity endpoints write the number as a string. */
	assert_int_equal(arm_token_parse(S("{\"expires_in\":\"86399\","
	    "\"access_token\":\"x\"}"), &tok, &secs, err, sizeof(err)), 0);
	assert_int_equal(secs, 86399);
	free(tok);
	assert_int_equal(arm_token_parse(S("{\"expires_in\":10}"), &tok, &secs,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "the token response has no access_token");
	assert_int_equal(arm_token_parse(S("{\"access_token\":\"x\"}"), &tok,
	    &secs, err, sizeof(err)), -1);
	assert_string_equal(err, "the token response has no valid expires_in");
	assert_int_equal(arm_token_parse(S("<html>"), &tok, &secs, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the body is not JSON (line 1, column 1: "
	    "'[' or '{' expected near '<')");
	assert_null(tok);
}

static void
test_error_text(void **state)
{
	char buf[256];

	(void)state;
	arm_error_text(S("{\"error\":{\"code\":\"AuthorizationFailed\","
	    "\"message\":\"no read\"}}"), buf, sizeof(buf));
	assert_string_equal(buf, "AuthorizationFailed: no read");
	/* Entra: the first line of the description only. */
	arm_error_text(S("{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000215: Invalid client secret.\\r\\nTrace ID: 1\"}"), buf,
	    sizeof(buf));
	assert_string_equal(buf, "invalid_client: AADSTS7000215: Invalid client "
	    "secret.");
	arm_error_text(S("not json"), buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
test_page(void **state)
{
	json_t *root, *value;
	const char *next;
	char err[256];

	(void)state;
	assert_int_equal(arm_page_parse(S("{\"value\":[1,2],\"nextLink\":"
	    "\"https://m/x?$skipToken=a\"}"), &root, &value, &next, err,
	    sizeof(err)), 0);
	assert_int_equal(json_array_size(value), 2);
	assert_string_equal(next, "https://m/x?$skipToken=a");
	json_decref(root);
	assert_int_equal(arm_page_parse(S("{\"value\":[],\"nextLink\":null}"),
	    &root, &value, &next, err, sizeof(err)), 0);
	assert_null(next);
	json_decref(root);
	assert_int_equal(arm_page_parse(S("{\"value\":{}}"), &root, &value,
	    &next, err, sizeof(err)), -1);
	assert_string_equal(err, "the list has no \"value\" array");
	assert_int_equal(arm_page_parse(S("{\"value\":[],\"nextLink\":3}"),
	    &root, &value, &next, err, sizeof(err)), -1);
	assert_string_equal(err, "nextLink is not a string");
	assert_int_equal(arm_page_parse(S("{\"value\": [{\"na"), &root, &value,
	    &next, err, sizeof(err)), -1);
	assert_true(strncmp(err, "the body is not JSON (line 1, column ", 37) == 0);
	assert_int_equal(arm_page_parse(S("[1]"), &root, &value, &next, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the list is not a JSON object");
	assert_int_equal(arm_page_parse("", 0, &root, &value, &next, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the body is empty");
}

/* ---- record sets, zone groups, endpoints ---- */

#define ZID "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/" \
	"privateDnsZones/privatelink.blob.core.windows.net"
#define BLOB "privatelink.blob.core.windows.net"

static json_t *
parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	assert_non_null(j);
	return j;
}

/* SET as compact JSON with sorted keys (static buffer). */
static const char *
dump(json_t *set)
{
	static char buf[2048];
	char *s = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);

	pl_strlcpy(buf, s, sizeof(buf));
	free(s);
	return buf;
}

static void
rs_ok(const char *item, const char *expected)
{
	json_t *j = parse(item), *out;
	char err[512];

	assert_int_equal(arm_recordset(j, BLOB, ZID, &out, err, sizeof(err)), 0);
	if (expected == NULL)
		assert_null(out);
	else {
		assert_non_null(out);
		assert_string_equal(dump(out), expected);
		json_decref(out);
	}
	json_decref(j);
}

static void
rs_fails(const char *item, const char *expected)
{
	json_t *j = parse(item), *out;
	char err[512];

	assert_int_equal(arm_recordset(j, BLOB, ZID, &out, err, sizeof(err)), -1);
	assert_null(out);
	assert_string_equal(err, expected);
	json_decref(j);
}

/* Names as ARM gives them: one trailing dot at most, no empty label, labels
 * of 63 octets at most, nothing but printable ASCII. */
static void
test_name(void **state)
{
	static const char *const bad[] = { "", ".", "a..b", ".a.b", "x.net..",
	    "a b.net", "a\tb.net", "caf\xc3\xa9.net", NULL };
	char out[300], long_label[80], long_name[300];

	(void)state;
	assert_int_equal(arm_name("Acct.PrivateLink.Blob.Core.Windows.Net.", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "acct.privatelink.blob.core.windows.net");
	assert_int_equal(arm_name("a.b", out, sizeof(out)), 0);
	assert_string_equal(out, "a.b");
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_int_equal(arm_name(bad[i], out, sizeof(out)), -1);
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".net");
	assert_int_equal(arm_name(long_label, out, sizeof(out)), -1);
	strcpy(long_label + 63, ".net");	/* a label of 63: the most */
	assert_int_equal(arm_name(long_label, out, sizeof(out)), 0);
	/* 254 octets of text: longer than a name can be (253 without the
	 * trailing dot). */
	for (size_t i = 0; i < 254; i++)
		long_name[i] = i % 2 == 0 ? 'a' : '.';
	long_name[253] = 'a';
	long_name[254] = '\0';
	assert_int_equal(arm_name(long_name, out, sizeof(out)), -1);
}

static void
test_recordset(void **state)
{
	(void)state;
	rs_ok("{\"id\":\"" ZID "/A/acct\",\"name\":\"acct\",\"type\":"
	    "\"Microsoft.Network/privateDnsZones/A\",\"properties\":{\"ttl\":10,"
	    "\"fqdn\":\"Acct.privatelink.blob.core.windows.net.\",\"aRecords\":"
	    "[{\"ipv4Address\":\"10.1.2.3\"},{\"ipv4Address\":\"10.1.2.4\"}]}}",
	    "{\"data\":[\"10.1.2.3\",\"10.1.2.4\"],\"id\":\"" ZID "/A/acct\","
	    "\"name\":\"acct.privatelink.blob.core.windows.net\",\"ttl\":10,"
	    "\"type\":\"A\",\"zone\":\"" BLOB "\"}");
	/* No fqdn, no id: from the name and the zone; no TTL: the default. */
	rs_ok("{\"name\":\"@\",\"type\":\"Microsoft.Network/privateDnsZones/AAAA\","
	    "\"properties\":{\"aaaaRecords\":[{\"ipv6Address\":\"fd00::1\"}]}}",
	    "{\"data\":[\"fd00::1\"],\"id\":\"" ZID "/AAAA/@\",\"name\":\"" BLOB
	    "\",\"ttl\":-1,\"type\":\"AAAA\",\"zone\":\"" BLOB "\"}");
	rs_ok("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/"
	    "CNAME\",\"properties\":{\"ttl\":5,\"cnameRecord\":{\"cname\":"
	    "\"Y.example.\"}}}",
	    "{\"data\":[\"y.example\"],\"id\":\"" ZID "/CNAME/x\",\"name\":\"x."
	    BLOB "\",\"ttl\":5,\"type\":\"CNAME\",\"zone\":\"" BLOB "\"}");
	/* Types not synced, and empty sets, give nothing. */
	rs_ok("{\"name\":\"@\",\"type\":\"Microsoft.Network/privateDnsZones/SOA\","
	    "\"properties\":{}}", NULL);
	rs_ok("{\"name\":\"e\",\"type\":\"Microsoft.Network/privateDnsZones/A\","
	    "\"properties\":{\"aRecords\":[]}}", NULL);
	rs_fails("[]", "a record set is not an object");
	rs_fails("{\"name\":\"a\"}", "a record set has no \"type\" or \"name\"");
	rs_fails("{\"name\":\"a\",\"type\":\"A\"}",
	    "record set a has no \"properties\"");
	rs_fails("{\"name\":\"a\",\"type\":\"A\",\"properties\":{\"aRecords\":"
	    "[{\"ipv4Address\":7}]}}", ZID "/A/a: properties.aRecords[0]."
	    "ipv4Address is not a string");
	rs_fails("{\"name\":\"a\",\"type\":\"A\",\"properties\":{\"aRecords\":"
	    "{}}}", ZID "/A/a: properties.aRecords is not an array");
	rs_fails("{\"name\":\"a\",\"type\":\"A\",\"properties\":{\"ttl\":-1}}",
	    ZID "/A/a: ttl is not a number from 0 to 2147483647");
}

static bool
known(const char *zone, void *arg)
{
	(void)arg;
	return strncmp(zone, "privatelink.", 12) == 0;
}

static void
test_zone_group(void **state)
{
	json_t *sets = json_array(), *g;
	char err[512];

	(void)state;
	g = parse("{\"id\":\"/pe/g\",\"properties\":{\"privateDnsZoneConfigs\":["
	    "{\"properties\":{\"privateDnsZoneId\":\"/s/privateDnsZones/"
	    "privatelink.vaultcore.azure.net\",\"recordSets\":[{\"recordType\":"
	    "\"A\",\"recordSetName\":\"kv\",\"fqdn\":\"kv.privatelink.vaultcore."
	    "azure.net\",\"ttl\":10,\"ipAddresses\":[\"10.0.0.5\"]},"
	    "{\"recordType\":\"TXT\"}]}}]}}");
	assert_int_equal(arm_zone_group(g, sets, known, NULL, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(sets), 1);
	assert_string_equal(dump(json_array_get(sets, 0)),
	    "{\"data\":[\"10.0.0.5\"],\"id\":\"/pe/g: privatelink.vaultcore."
	    "azure.net/A/kv.privatelink.vaultcore.azure.net\",\"name\":\"kv."
	    "privatelink.vaultcore.azure.net\",\"ttl\":10,\"type\":\"A\","
	    "\"zone\":\"privatelink.vaultcore.azure.net\"}");
	json_decref(g);
	g = parse("{\"id\":\"/pe/g\",\"properties\":{\"privateDnsZoneConfigs\":["
	    "{\"properties\":{\"privateDnsZoneId\":\"/s/privateDnsZones/corp."
	    "example\"}}]}}");
	assert_int_equal(arm_zone_group(g, sets, known, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "/pe/g: zone corp.example is not an Azure "
	    "private link zone nor a configured [zone]");
	json_decref(g);
	json_decref(sets);
}

static void
test_endpoint(void **state)
{
	json_t *sets = json_array(), *pe;
	const char *id;
	char err[512];

	(void)state;
	pe = parse("{\"id\":\"/pe/1\",\"properties\":{\"customDnsConfigs\":["
	    "{\"fqdn\":\"KV.vault.azure.net\",\"ipAddresses\":[\"10.0.0.5\"]},"
	    "{\"fqdn\":\"none.example\",\"ipAddresses\":[]}]}}");
	assert_int_equal(arm_endpoint(pe, sets, &id, err, sizeof(err)), 0);
	assert_string_equal(id, "/pe/1");
	assert_int_equal(json_array_size(sets), 1);
	assert_string_equal(dump(json_array_get(sets, 0)),
	    "{\"data\":[\"10.0.0.5\"],\"id\":\"/pe/1: customDnsConfigs[0]\","
	    "\"name\":\"kv.vault.azure.net\",\"ttl\":-1,\"type\":\"A\",\"zone\":null}");
	json_decref(pe);
	pe = parse("{\"id\":\"/pe/2\",\"properties\":{\"customDnsConfigs\":["
	    "{\"fqdn\":\"a.b\",\"ipAddresses\":\"10.0.0.1\"}]}}");
	assert_int_equal(arm_endpoint(pe, sets, &id, err, sizeof(err)), -1);
	assert_string_equal(err, "/pe/2: customDnsConfigs[0].ipAddresses is not "
	    "an array");
	json_decref(pe);
	json_decref(sets);
}

static void
test_sort(void **state)
{
	json_t *a = parse("[{\"name\":\"b\",\"type\":\"A\",\"id\":\"1\",\"data\":"
	    "[\"10.0.0.2\",\"10.0.0.1\"]},{\"name\":\"a\",\"type\":\"A\",\"id\":"
	    "\"2\",\"data\":[]}]");

	(void)state;
	arm_sets_sort(a);
	assert_string_equal(dump(a), "[{\"data\":[],\"id\":\"2\",\"name\":\"a\","
	    "\"type\":\"A\"},{\"data\":[\"10.0.0.1\",\"10.0.0.2\"],\"id\":\"1\","
	    "\"name\":\"b\",\"type\":\"A\"}]");
	json_decref(a);
}

/* ---- files ---- */

static void
test_secret_file(void **state)
{
	char err[512], *s;
	const char *p;

	(void)state;
	p = tfile("ok", "  value=with&chars \n", 0600);
	assert_non_null(s = azure_auth_read_secret(p, true, err, sizeof(err)));
	assert_string_equal(s, "value=with&chars");
	free(s);
	p = tfile("open", "v\n", 0644);
	assert_null(azure_auth_read_secret(p, true, err, sizeof(err)));
	assert_true(strstr(err, "may be read by its group or others (mode 644): "
	    "make it private (chmod 600)") != NULL);
	/* A federated token is not a secret of ours: any mode. */
	assert_non_null(s = azure_auth_read_secret(p, false, err, sizeof(err)));
	free(s);
	p = tfile("empty", " \n", 0600);
	assert_null(azure_auth_read_secret(p, true, err, sizeof(err)));
	assert_true(strstr(err, " is empty") != NULL);
	assert_null(azure_auth_read_secret(tfile("nosuch", NULL, 0), true, err,
	    sizeof(err)));
	assert_true(strstr(err, "No such file or directory") != NULL);
}

static void
test_arc_challenge(void **state)
{
	char err[512], dir[PATH_MAX + 16], hdr[PATH_MAX * 2], big[5000];
	char *s;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tokens", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	tfile("tokens/a.key", "secret-abc\n", 0600);
	snprintf(hdr, sizeof(hdr), "Basic realm=%s/tokens/a.key", tmpdir);
	assert_non_null(s = azure_auth_arc_challenge(hdr, dir, err, sizeof(err)));
	assert_string_equal(s, "secret-abc");
	free(s);
	/* Outside the directory, also through "..". */
	tfile("b.key", "x", 0600);
	snprintf(hdr, sizeof(hdr), "Basic realm=%s/tokens/../b.key", tmpdir);
	assert_null(azure_auth_arc_challenge(hdr, dir, err, sizeof(err)));
	assert_true(strstr(err, "is outside identity_key_dir") != NULL);
	tfile("tokens/c.txt", "x", 0600);
	snprintf(hdr, sizeof(hdr), "Basic realm=%s/tokens/c.txt", tmpdir);
	assert_null(azure_auth_arc_challenge(hdr, dir, err, sizeof(err)));
	assert_true(strstr(err, "does not end in .key: refused") != NULL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tfile("tokens/big.key", big, 0600);
	snprintf(hdr, sizeof(hdr), "Basic realm=%s/tokens/big.key", tmpdir);
	assert_null(azure_auth_arc_challenge(hdr, dir, err, sizeof(err)));
	assert_true(strstr(err, "is larger than 4096 bytes") != NULL);
	assert_null(azure_auth_arc_challenge("Bearer x", dir, err, sizeof(err)));
	assert_string_equal(err, "the identity endpoint's 401 has no "
	    "\"WWW-Authenticate: Basic realm=FILE\"");
}

/* ---- the JWT ---- */

static unsigned char *
b64url_decode(const char *s, size_t n, size_t *outlen)
{
	char *t = xmalloc(n + 4);
	unsigned char *out = xmalloc(n + 4);
	size_t k = 0;
	int len;

	for (size_t i = 0; i < n; i++)
		t[k++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (k % 4 != 0)
		t[k++] = '=';
	len = EVP_DecodeBlock(out, (unsigned char *)t, (int)k);
	assert_true(len >= 0);
	*outlen = (size_t)len - (size_t)(n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
	free(t);
	return out;
}

static void
test_jwt(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	char path[PATH_MAX + 16], err[512], *jwt, *dot1, *dot2, want[64];
	unsigned char *der = NULL, hash[32], *part, *sig;
	size_t plen, slen;
	int derlen;
	FILE *f;
	json_t *hdr, *cl;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx;

	(void)state;
	assert_non_null(key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"app", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/app.pem", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	PEM_write_X509(f, x);
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);

	jwt = azure_auth_jwt(path, "client-1", "https://login/t/oauth2/v2.0/token",
	    1700000000, err, sizeof(err));
	assert_non_null(jwt);
	dot1 = strchr(jwt, '.');
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	part = b64url_decode(jwt, (size_t)(dot1 - jwt), &plen);
	part[plen] = '\0';
	hdr = parse((char *)part);
	free(part);
	part = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
	part[plen] = '\0';
	cl = parse((char *)part);
	free(part);
	derlen = i2d_X509(x, &der);
	EVP_Digest(der, (size_t)derlen, hash, NULL, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *)want, hash, 32);
	for (char *c = want; *c != '\0'; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c == '=' ? '\0' : *c;
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "PS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "x5t#S256")), want);
	assert_string_equal(json_string_value(json_object_get(cl, "aud")),
	    "https://login/t/oauth2/v2.0/token");
	assert_string_equal(json_string_value(json_object_get(cl, "iss")), "client-1");
	assert_string_equal(json_string_value(json_object_get(cl, "sub")), "client-1");
	assert_int_equal(json_integer_value(json_object_get(cl, "nbf")), 1700000000);
	assert_int_equal(json_integer_value(json_object_get(cl, "exp")), 1700000600);
	assert_int_equal(json_string_length(json_object_get(cl, "jti")), 32);

	/* The signature verifies with the certificate's key, PSS, SHA-256. */
	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &slen);
	assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key), 1);
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	assert_int_equal(EVP_DigestVerify(md, sig, slen, (unsigned char *)jwt,
	    (size_t)(dot2 - jwt)), 1);
	/* And not once a byte of the claims changes. */
	dot1[2] ^= 1;
	EVP_MD_CTX_reset(md);
	EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key);
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	assert_int_not_equal(EVP_DigestVerify(md, sig, slen, (unsigned char *)jwt,
	    (size_t)(dot2 - jwt)), 1);

	assert_null(azure_auth_jwt(tfile("nokey.pem", "junk", 0600), "c", "a", 0,
	    err, sizeof(err)));
	assert_true(strstr(err, "no PEM certificate") != NULL);

	free(sig);
	free(jwt);
	json_decref(hdr);
	json_decref(cl);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* ---- diff and records ---- */

static char *
diff(const char *old, const char *new)
{
	json_t *o = old ? parse(old) : NULL, *n = parse(new);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	azure_sync_diff(o, n, f);
	fclose(f);
	if (o != NULL)
		json_decref(o);
	json_decref(n);
	return buf;
}

#define SET(name, ip) "{\"name\":\"" name "\",\"type\":\"A\",\"ttl\":10," \
	"\"id\":\"/z/A/" name "\",\"data\":[" ip "]}"
#define DATA(sets) "{\"zones\":[],\"fallback\":[],\"sets\":[" sets "]}"

static void
test_diff(void **state)
{
	char *d;

	(void)state;
	d = diff(NULL, DATA(SET("a", "\"10.0.0.1\"")));
	assert_string_equal(d, "+ a A 10.0.0.1\n");
	free(d);
	d = diff(DATA(SET("a", "\"10.0.0.1\"") "," SET("b", "\"10.0.0.2\"") ","
	    SET("c", "\"10.0.0.3\", \"10.0.0.4\"")),
	    DATA(SET("a", "\"10.0.0.9\"") "," SET("c", "\"10.0.0.3\", \"10.0.0.5\", "
	    "\"10.0.0.6\"") "," SET("d", "\"10.0.0.7\"")));
	assert_string_equal(d,
	    "~ a A 10.0.0.1 -> 10.0.0.9\n"
	    "- b A 10.0.0.2\n"
	    "- c A 10.0.0.4\n"
	    "+ c A 10.0.0.5\n"
	    "+ c A 10.0.0.6\n"
	    "+ d A 10.0.0.7\n");
	free(d);
	d = diff(DATA(SET("a", "\"10.0.0.1\"")), DATA(SET("a", "\"10.0.0.1\"")));
	assert_string_equal(d, "");
	free(d);
}

/* Synced data in a state file goes through the sources' checks. */
static void
test_records(void **state)
{
	struct config *cfg = config_new();
	struct recset rs;
	struct diag d;
	char *all;

	(void)state;
	free(cfg->state_dir);
	cfg->state_dir = xstrdup(tmpdir);
	cfg->azures = xcalloc(1, sizeof(*cfg->azures));
	cfg->nazures = 1;
	cfg->azures[0].name = xstrdup("c1");
	tfile("azure-c1.json", "{\"pldns_azure_state\":1,\"azure\":\"c1\","
	    "\"synced_at\":1,\"data\":{\"zones\":[\"" BLOB "\"],\"fallback\":[\""
	    BLOB "\"],\"sets\":[" SET("a." BLOB, "\"10.0.0.1\"") ","
	    SET("b." BLOB, "\"8.8.8.8\"") ",{\"name\":\"c." BLOB "\",\"type\":"
	    "\"CNAME\",\"ttl\":5,\"id\":\"/z/CNAME/c\",\"data\":[\"a." BLOB
	    "\"]}]}}", 0600);
	diag_init(&d);
	recset_init(&rs);
	assert_int_equal(records_load(cfg, &rs, &d), -1);
	all = diag_join(&d);
	assert_string_equal(all, "azure \"c1\": /z/A/b." BLOB ": address 8.8.8.8 "
	    "of b." BLOB " is not private (private endpoints use 10/8, "
	    "172.16/12, 192.168/16, 100.64/10 or fc00::/7; allow_public = yes "
	    "accepts it)");
	free(all);
	assert_int_equal(rs.nrecs, 0);
	recset_clear(&rs);
	diag_clear(&d);
	azure_sync_free(NULL);

	/* Allowed: one record, the zone falls back as its link says. */
	cfg->allow_public = true;
	diag_init(&d);
	recset_init(&rs);
	assert_int_equal(records_load(cfg, &rs, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(rs.nrecs, 3);
	assert_int_equal(rs.recs[2].type, TYPE_CNAME);
	assert_int_equal(rs.nzones, 1);
	assert_int_equal(rs.zones[0].missing, MISSING_FALLBACK);
	recset_clear(&rs);
	diag_clear(&d);
	config_free(cfg);

	/* A synced zone the configuration no longer wants is left out. */
	cfg = config_new();
	free(cfg->state_dir);
	cfg->state_dir = xstrdup(tmpdir);
	cfg->azures = xcalloc(1, sizeof(*cfg->azures));
	cfg->nazures = 1;
	cfg->azures[0].name = xstrdup("c2");
	tfile("azure-c2.json", "{\"pldns_azure_state\":1,\"azure\":\"c2\","
	    "\"synced_at\":1,\"data\":{\"zones\":[\"corp.example\"],"
	    "\"fallback\":[],\"sets\":[{\"name\":\"a.corp.example\",\"zone\":"
	    "\"corp.example\",\"type\":\"A\",\"ttl\":10,\"id\":\"/z\","
	    "\"data\":[\"10.0.0.1\"]}]}}", 0600);
	diag_init(&d);
	recset_init(&rs);
	assert_int_equal(records_load(cfg, &rs, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(rs.nrecs, 0);
	assert_int_equal(rs.nzones, 0);
	recset_clear(&rs);
	diag_clear(&d);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_recordset),
		cmocka_unit_test(test_zone_group),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_sort),
		cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arc_challenge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jwt, setup, teardown),
		cmocka_unit_test(test_diff),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
