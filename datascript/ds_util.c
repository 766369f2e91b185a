// SPDX-License-Identifier: GPL-2.0
/*
 * ds_util.c - avi.crypto (AES-CBC through OpenSSL EVP), avi.utils
 * (base64, digests, HMAC) and Avi's additions to the string library.
 *
 * OpenSSL objects are never alive while a Lua error can be raised: output
 * space is reserved in a Lua buffer first, then OpenSSL runs, then the
 * result is pushed, so a memory error cannot leak a context.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <strings.h>

#include "ds_internal.h"

/* ------------------------------------------------------------ string ext */

static int str_beginswith(lua_State *L)
{
	size_t sl, pl;
	const char *s = luaL_checklstring(L, 1, &sl), *p = luaL_checklstring(L, 2, &pl);

	lua_pushboolean(L, pl <= sl && !memcmp(s, p, pl));
	return 1;
}

static int str_endswith(lua_State *L)
{
	size_t sl, pl;
	const char *s = luaL_checklstring(L, 1, &sl), *p = luaL_checklstring(L, 2, &pl);

	lua_pushboolean(L, pl <= sl && !memcmp(s + sl - pl, p, pl));
	return 1;
}

static int str_contains(lua_State *L)
{
	size_t sl, pl;
	const char *s = luaL_checklstring(L, 1, &sl), *p = luaL_checklstring(L, 2, &pl);

	lua_pushboolean(L, !pl || memmem(s, sl, p, pl) != NULL);
	return 1;
}

/* Adds string.beginswith / endswith / contains (plain, case-sensitive) to
 * the already opened string library. */
void ds_string_ext(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "beginswith", str_beginswith },
		{ "endswith", str_endswith },
		{ "contains", str_contains },
		{ NULL, NULL },
	};

	lua_getglobal(L, LUA_STRLIBNAME);
	luaL_setfuncs(L, fns, 0);
	lua_pop(L, 1);
}

/* ------------------------------------------------------------ crypto */

static const EVP_CIPHER *cipher_for(lua_State *L, size_t klen, int arg)
{
	const char *algo = luaL_optstring(L, arg, NULL);
	const EVP_CIPHER *c = klen == 16 ? EVP_aes_128_cbc() :
			      klen == 24 ? EVP_aes_192_cbc() :
			      klen == 32 ? EVP_aes_256_cbc() : NULL;

	if (!c)
		ds_error(L, "key of %d bytes: AES needs 16, 24 or 32", (int)klen);
	if (algo && strcasecmp(algo, EVP_CIPHER_get0_name(c)) &&
	    strcasecmp(algo, klen == 16 ? "aes128" : klen == 24 ? "aes192" : "aes256"))
		ds_error(L, "algorithm '%s' does not match a key of %d bytes (%s)", algo,
			 (int)klen, EVP_CIPHER_get0_name(c));
	return c;
}

/* encrypt / decrypt (text, key [, iv [, algo]]): AES-CBC with PKCS#7
 * padding; iv is 16 bytes, all zero when not given. Raw bytes in and out. */
static int aes(lua_State *L, bool enc)
{
	static const unsigned char zero_iv[16];
	size_t tl, kl, il = 16;
	const char *text = luaL_checklstring(L, 1, &tl), *key = luaL_checklstring(L, 2, &kl);
	const unsigned char *iv = zero_iv;
	const EVP_CIPHER *c;
	EVP_CIPHER_CTX *ctx;
	luaL_Buffer b;
	unsigned char *out;
	int n1 = 0, n2 = 0, ok;

	if (!lua_isnoneornil(L, 3)) {
		iv = (const unsigned char *)luaL_checklstring(L, 3, &il);
		if (il != 16)
			ds_error(L, "iv of %d bytes: AES-CBC needs 16", (int)il);
	}
	c = cipher_for(L, kl, 4);
	if (tl > (1u << 24))
		ds_error(L, "text longer than 16 MiB");
	out = (unsigned char *)luaL_buffinitsize(L, &b, tl + 32);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return ds_error(L, "out of memory");
	ok = EVP_CipherInit_ex(ctx, c, NULL, (const unsigned char *)key, iv, enc) &&
	     EVP_CipherUpdate(ctx, out, &n1, (const unsigned char *)text, (int)tl) &&
	     EVP_CipherFinal_ex(ctx, out + n1, &n2);
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		luaL_pushresultsize(&b, 0);
		lua_pop(L, 1);
		if (enc)
			return ds_error(L, "encrypt failed");
		luaL_pushfail(L);
		lua_pushliteral(L, "decrypt: bad key, iv or padding");
		return 2;
	}
	luaL_pushresultsize(&b, n1 + n2);
	return 1;
}

static int crypto_encrypt(lua_State *L)
{
	return aes(L, true);
}

static int crypto_decrypt(lua_State *L)
{
	return aes(L, false);
}

void ds_open_crypto(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "encrypt", crypto_encrypt },
		{ "decrypt", crypto_decrypt },
		{ NULL, NULL },
	};

	luaL_setfuncs(L, fns, 0);
}

/* ------------------------------------------------------------ utils */

static int b64_encode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *out;
	int len;

	if (n > (1u << 26))
		return ds_error(L, "base64_encode: input longer than 64 MiB");
	out = luaL_buffinitsize(L, &b, 4 * ((n + 2) / 3) + 1);
	len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	luaL_pushresultsize(&b, len);
	return 1;
}

/* nil on malformed input (bad characters, bad length). */
static int b64_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *out;
	int len, pad = 0;

	if (n % 4 || n > (1u << 26)) {
		luaL_pushfail(L);
		return 1;
	}
	if (n && s[n - 1] == '=')
		pad++;
	if (n > 1 && s[n - 2] == '=')
		pad++;
	out = luaL_buffinitsize(L, &b, n / 4 * 3 + 1);
	len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	if (len < 0) {
		luaL_pushresultsize(&b, 0);
		lua_pop(L, 1);
		luaL_pushfail(L);
		return 1;
	}
	luaL_pushresultsize(&b, len - pad);
	return 1;
}

static void push_hex(lua_State *L, const unsigned char *d, unsigned n)
{
	static const char hex[] = "0123456789abcdef";
	char buf[2 * EVP_MAX_MD_SIZE];
	unsigned i;

	for (i = 0; i < n; i++) {
		buf[2 * i] = hex[d[i] >> 4];
		buf[2 * i + 1] = hex[d[i] & 15];
	}
	lua_pushlstring(L, buf, 2 * n);
}

static int digest(lua_State *L, const EVP_MD *md)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;

	if (!EVP_Digest(s, n, d, &dl, md, NULL))
		return ds_error(L, "digest failed");
	push_hex(L, d, dl);
	return 1;
}

static int u_sha1(lua_State *L)
{
	return digest(L, EVP_sha1());
}

static int u_sha256(lua_State *L)
{
	return digest(L, EVP_sha256());
}

static int u_sha512(lua_State *L)
{
	return digest(L, EVP_sha512());
}

static int u_md5(lua_State *L)
{
	return digest(L, EVP_md5());
}

/* hmac(key, data [, algo = "sha256"]) -> lowercase hex */
static int u_hmac(lua_State *L)
{
	size_t kl, dl;
	const char *key = luaL_checklstring(L, 1, &kl), *data = luaL_checklstring(L, 2, &dl);
	const char *algo = luaL_optstring(L, 3, "sha256");
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned ol = 0;
	const EVP_MD *md = !strcasecmp(algo, "sha256") ? EVP_sha256() :
			   !strcasecmp(algo, "sha1")   ? EVP_sha1() :
			   !strcasecmp(algo, "sha512") ? EVP_sha512() :
			   !strcasecmp(algo, "md5")    ? EVP_md5() : NULL;

	if (!md)
		return ds_error(L, "hmac: unknown algorithm '%s' (sha1, sha256, sha512, md5)", algo);
	if (!HMAC(md, key, (int)kl, (const unsigned char *)data, dl, out, &ol))
		return ds_error(L, "hmac failed");
	push_hex(L, out, ol);
	return 1;
}

void ds_open_utils(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "base64_encode", b64_encode },
		{ "base64_decode", b64_decode },
		{ "sha1_hash", u_sha1 },
		{ "sha256_hash", u_sha256 },
		{ "sha512_hash", u_sha512 },
		{ "md5_hash", u_md5 },
		{ "hmac", u_hmac },
		{ NULL, NULL },
	};

	luaL_setfuncs(L, fns, 0);
}
