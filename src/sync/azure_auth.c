/* azure_auth: tokens for Azure Resource Manager (see azure_auth.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sync/azure_arm.h"
#include "sync/azure_auth.h"
#include "util/util.h"

#define SECRET_MAX	65536
#define CHALLENGE_MAX	4096
#define JWT_LIFETIME	600	/* seconds; Entra accepts up to about ten minutes */

#define fail pl_errf

/* Reads the regular file FD (at most MAX bytes) into a string. */
static char *
read_fd(int fd, const char *path, size_t max, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;

	if (fstat(fd, &st) == -1) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s is not a regular file", path);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		fail(err, errlen, "%s is larger than %zu bytes", path, max);
		return NULL;
	}
	buf = xmalloc(max + 1);
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			fail(err, errlen, "%s is larger than %zu bytes", path, max);
			free(buf);
			return NULL;
		}
	}
	buf[len] = '\0';
	return buf;
}

char *
azure_auth_read_secret(const char *path, bool private_only, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf, *t;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (private_only && fstat(fd, &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		fail(err, errlen, "%s may be read by its group or others (mode "
		    "%03o): make it private (chmod 600)", path,
		    (unsigned)(st.st_mode & 0777));
		close(fd);
		return NULL;
	}
	buf = read_fd(fd, path, SECRET_MAX, err, errlen);
	close(fd);
	if (buf == NULL)
		return NULL;
	t = str_trim(buf);
	if (*t == '\0') {
		fail(err, errlen, "%s is empty", path);
		free(buf);
		return NULL;
	}
	memmove(buf, t, strlen(t) + 1);
	return buf;
}

char *
azure_auth_arc_challenge(const char *www, const char *dir, char *err,
    size_t errlen)
{
	char realdir[PATH_MAX], realfile[PATH_MAX], *path, *buf;
	const char *p;
	size_t n, dl;
	int fd;

	if (www == NULL || strncasecmp(www, "Basic realm=", 12) != 0) {
		fail(err, errlen, "the identity endpoint's 401 has no "
		    "\"WWW-Authenticate: Basic realm=FILE\"");
		return NULL;
	}
	p = www + 12;
	n = strlen(p);
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	path = xstrndup(p, n);
	if (n < 5 || strcmp(path + n - 4, ".key") != 0) {
		fail(err, errlen, "the identity endpoint's challenge file %s does "
		    "not end in .key: refused", path);
		goto bad;
	}
	if (realpath(dir, realdir) == NULL) {
		fail(err, errlen, "identity_key_dir %s: %s", dir, strerror(errno));
		goto bad;
	}
	/* Resolved, so that neither ".." nor a link leads out of DIR. */
	if (realpath(path, realfile) == NULL) {
		fail(err, errlen, "the identity endpoint's challenge file %s: %s",
		    path, strerror(errno));
		goto bad;
	}
	dl = strlen(realdir);
	if (strncmp(realfile, realdir, dl) != 0 || realfile[dl] != '/') {
		fail(err, errlen, "the identity endpoint's challenge file %s is "
		    "outside identity_key_dir %s: refused", path, dir);
		goto bad;
	}
	if ((fd = open(realfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		fail(err, errlen, "cannot read the challenge file %s: %s", path,
		    strerror(errno));
		goto bad;
	}
	buf = read_fd(fd, path, CHALLENGE_MAX, err, errlen);
	close(fd);
	free(path);
	if (buf != NULL)
		str_trim(buf);
	return buf;
bad:
	free(path);
	return NULL;
}

/* ---- the JWT of auth = certificate ---- */

static char *
b64url(const unsigned char *in, size_t len)
{
	size_t cap = 4 * ((len + 2) / 3) + 1;
	char *out = xmalloc(cap), *o = out;
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	out[n] = '\0';
	for (char *s = out; *s != '\0'; s++) {
		if (*s == '+')
			*o++ = '-';
		else if (*s == '/')
			*o++ = '_';
		else if (*s != '=')
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *
b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

char *
azure_auth_jwt(const char *pem_file, const char *client_id, const char *aud,
    time_t now, char *err, size_t errlen)
{
	FILE *fp;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx;
	unsigned char *der = NULL, hash[32], *sig = NULL, jti[16];
	char *thumb = NULL, *hdr = NULL, *claims = NULL, *h64 = NULL, *c64 = NULL;
	char *input = NULL, *s64 = NULL, *out = NULL, jtihex[33];
	json_t *jh, *jc;
	size_t siglen = 0;
	int derlen;

	if ((fp = fopen(pem_file, "re")) == NULL) {
		fail(err, errlen, "cannot read %s: %s", pem_file, strerror(errno));
		return NULL;
	}
	cert = PEM_read_X509(fp, NULL, NULL, NULL);
	rewind(fp);
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (cert == NULL || key == NULL) {
		fail(err, errlen, "%s: %s", pem_file, cert == NULL ?
		    "no PEM certificate" : "no PEM private key (unencrypted)");
		goto done;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		fail(err, errlen, "%s: the key is not an RSA key", pem_file);
		goto done;
	}
	if ((derlen = i2d_X509(cert, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)derlen, hash, NULL, EVP_sha256(), NULL) != 1) {
		fail(err, errlen, "%s: cannot hash the certificate", pem_file);
		goto done;
	}
	thumb = b64url(hash, sizeof(hash));
	random_bytes(jti, sizeof(jti));
	for (size_t i = 0; i < sizeof(jti); i++)
		snprintf(jtihex + 2 * i, 3, "%02x", jti[i]);
	jh = json_pack("{s:s, s:s, s:s}", "alg", "PS256", "typ", "JWT",
	    "x5t#S256", thumb);
	jc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud", aud,
	    "iss", client_id, "sub", client_id, "jti", jtihex,
	    "nbf", (json_int_t)now, "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + JWT_LIFETIME));
	hdr = json_dumps(jh, JSON_COMPACT | JSON_SORT_KEYS);
	claims = json_dumps(jc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(jh);
	json_decref(jc);
	h64 = b64url_str(hdr);
	c64 = b64url_str(claims);
	xasprintf(&input, "%s.%s", h64, c64);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)input,
	    strlen(input)) != 1) {
		fail(err, errlen, "%s: cannot sign with the key", pem_file);
		goto done;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(md, sig, &siglen, (unsigned char *)input,
	    strlen(input)) != 1) {
		fail(err, errlen, "%s: cannot sign with the key", pem_file);
		goto done;
	}
	s64 = b64url(sig, siglen);
	xasprintf(&out, "%s.%s", input, s64);
done:
	EVP_MD_CTX_free(md);
	X509_free(cert);
	EVP_PKEY_free(key);
	OPENSSL_free(der);
	free(thumb);
	free(hdr);
	free(claims);
	free(h64);
	free(c64);
	free(input);
	free(sig);
	free(s64);
	return out;
}

/* ---- the token requests ---- */

/* A token from the answer R of WHO; -1 with a reason that names WHO. */
static int
token_from(const struct http_resp *r, const char *who, char **token,
    long *expires_in, char *err, size_t errlen)
{
	char why[512];

	if (r->status != 200) {
		arm_error_text(r->body, r->len, why, sizeof(why));
		return fail(err, errlen, "%s answered %ld%s%s", who, r->status,
		    why[0] ? ": " : "", why);
	}
	if (arm_token_parse(r->body, r->len, token, expires_in, why,
	    sizeof(why)) == -1)
		return fail(err, errlen, "%s: %s", who, why);
	return 0;
}

/* POST to the Entra token endpoint with FORM (client credentials). */
static int
entra_token(const struct azure_conf *az, struct http_opts *h,
    const char *cred, char **token, long *expires_in, char *err, size_t errlen)
{
	static const char *const hdrs[] = { "Accept: application/json",
	    "Content-Type: application/x-www-form-urlencoded", NULL };
	char *url, *scope, *escope, *eid, *form, who[600];
	struct http_resp r;
	int rc;

	xasprintf(&url, "%s/%s/oauth2/v2.0/token", az->login_url, az->tenant);
	xasprintf(&scope, "%s/.default", az->management_url);
	escope = http_escape(scope);
	eid = http_escape(az->client_id);
	xasprintf(&form, "grant_type=client_credentials&client_id=%s&scope=%s&%s",
	    eid, escope, cred);
	snprintf(who, sizeof(who), "login endpoint %s", url);
	if (http_request(h, "POST", url, hdrs, form, &r) == -1)
		rc = fail(err, errlen, "cannot reach the %s: %s", who, r.err);
	else
		rc = token_from(&r, who, token, expires_in, err, errlen);
	/* The form holds the secret or assertion: wiped before it goes. */
	explicit_bzero(form, strlen(form));
	http_resp_clear(&r);
	free(url);
	free(scope);
	free(escope);
	free(eid);
	free(form);
	return rc;
}

/* The form fields that prove who we are, for the Entra modes. */
static char *
credential(const struct azure_conf *az, char *err, size_t errlen)
{
	char *secret, *e, *out = NULL, *url;

	switch (az->auth) {
	case AZ_AUTH_SECRET:
		if ((secret = azure_auth_read_secret(az->secret_file, true, err,
		    errlen)) == NULL)
			return NULL;
		e = http_escape(secret);
		explicit_bzero(secret, strlen(secret));
		free(secret);
		xasprintf(&out, "client_secret=%s", e);
		break;
	default:
		if (az->auth == AZ_AUTH_FEDERATED)
			/* Renewed by whoever issues it: read at each use. */
			secret = azure_auth_read_secret(az->token_file, false, err,
			    errlen);
		else {
			xasprintf(&url, "%s/%s/oauth2/v2.0/token", az->login_url,
			    az->tenant);
			secret = azure_auth_jwt(az->certificate_file,
			    az->client_id, url, time(NULL), err, errlen);
			free(url);
		}
		if (secret == NULL)
			return NULL;
		e = http_escape(secret);
		free(secret);
		xasprintf(&out, "client_assertion_type=urn%%3Aietf%%3Aparams%%3A"
		    "oauth%%3Aclient-assertion-type%%3Ajwt-bearer&"
		    "client_assertion=%s", e);
		break;
	}
	explicit_bzero(e, strlen(e));
	free(e);
	return out;
}

/* The managed identity endpoints: Arc's (challenge first) or a VM's. */
static int
identity_token(const struct azure_conf *az, struct http_opts *h,
    char **token, long *expires_in, char *err, size_t errlen)
{
	const char *hdrs[3] = { "Metadata: true", NULL, NULL };
	char *res = http_escape(az->management_url), *url, *cid = NULL, *basic = NULL;
	char *challenge, who[600];
	struct http_resp r;
	int rc;
	/* The identity endpoints are on this machine (Arc) or link-local
	 * (IMDS): never through a proxy, whatever http_proxy says. */
	const char *proxy = h->proxy;

	h->proxy = "";

	if (az->client_id != NULL)
		xasprintf(&cid, "&client_id=%s", az->client_id);
	xasprintf(&url, "%s/metadata/identity/oauth2/token?api-version=%s&"
	    "resource=%s%s", az->identity_url, az->auth == AZ_AUTH_ARC ?
	    "2020-06-01" : "2018-02-01", res, cid ? cid : "");
	snprintf(who, sizeof(who), "the %s identity endpoint %s",
	    az->auth == AZ_AUTH_ARC ? "Azure Arc" : "managed", az->identity_url);
	free(res);
	free(cid);
	if (http_request(h, "GET", url, hdrs, NULL, &r) == -1) {
		rc = fail(err, errlen, "cannot reach %s: %s", who, r.err);
		goto done;
	}
	if (az->auth == AZ_AUTH_VM) {
		rc = token_from(&r, who, token, expires_in, err, errlen);
		goto done;
	}
	/* Arc: only a 401 naming a challenge file is expected first. */
	if (r.status != 401) {
		rc = fail(err, errlen, "%s answered %ld where a 401 challenge was "
		    "expected", who, r.status);
		goto done;
	}
	challenge = azure_auth_arc_challenge(r.www_authenticate,
	    az->identity_key_dir, err, errlen);
	http_resp_clear(&r);
	if (challenge == NULL) {
		rc = -1;
		goto done;
	}
	xasprintf(&basic, "Authorization: Basic %s", challenge);
	explicit_bzero(challenge, strlen(challenge));
	free(challenge);
	hdrs[1] = basic;
	if (http_request(h, "GET", url, hdrs, NULL, &r) == -1)
		rc = fail(err, errlen, "cannot reach %s: %s", who, r.err);
	else
		rc = token_from(&r, who, token, expires_in, err, errlen);
	explicit_bzero(basic, strlen(basic));
	free(basic);
done:
	h->proxy = proxy;
	http_resp_clear(&r);
	free(url);
	return rc;
}

int
azure_auth_get(const struct azure_conf *az, struct http_opts *h,
    char **token, long *expires_in, char *err, size_t errlen)
{
	char *cred;
	int rc;

	*token = NULL;
	if (az->auth == AZ_AUTH_ARC || az->auth == AZ_AUTH_VM)
		return identity_token(az, h, token, expires_in, err, errlen);
	if ((cred = credential(az, err, errlen)) == NULL)
		return -1;
	rc = entra_token(az, h, cred, token, expires_in, err, errlen);
	explicit_bzero(cred, strlen(cred));
	free(cred);
	return rc;
}
