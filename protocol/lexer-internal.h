/*
 * lexer-internal.h - what the SQL tokenizer and statement splitter
 * (lexer.c) share with the statement classifier (classify.c).  Private to
 * those two files; the public interface is lexer.h.
 *
 * The token types, the tokenizer's state (struct lex: small and copyable,
 * so a look-ahead is a struct copy), the keyword comparisons made on every
 * token (static inline, so both files still inline them), and the three
 * calls that cross the split: lex_next() and starts_compound() in lexer.c,
 * classify_stmt() in classify.c.
 */
#ifndef CUTOVER_LEXER_INTERNAL_H
#define CUTOVER_LEXER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/lexer.h"

/* --- tokens --------------------------------------------------------------- */

enum tok_type {
	TK_EOF,
	TK_WORD,      /* unquoted identifier or keyword */
	TK_QIDENT,    /* `quoted identifier` ("..." under ANSI_QUOTES) */
	TK_STRING,    /* '...' or "..." (without ANSI_QUOTES) */
	TK_NUMBER,
	TK_VAR,       /* @user_var, @'x' */
	TK_SYSVAR,    /* @@name, @@scope.name */
	TK_PARAM,     /* ? */
	TK_SEMI,      /* ; */
	TK_PUNCT,     /* any other byte; ":=" is one token */
};

struct tok {
	enum tok_type type;
	size_t pos, len;      /* the token's bytes in the input */
	size_t npos, nlen;    /* TK_SYSVAR: the name, quotes excluded */
	size_t spos, slen;    /* TK_SYSVAR: the scope, empty when none */
};

struct lex {
	const char *s;
	size_t len;           /* bytes readable: the whole input */
	size_t end;           /* no token starts at or after this offset */
	size_t pos;
	const struct sql_dialect *d;
	bool in_exec;         /* inside an executable comment */
	bool unterminated;    /* a string, identifier or comment hit the end */
	bool unsure;          /* sticky: lexed a construct whose meaning depends
				 on what the dialect does not say */
	enum tok_type prev;   /* type of the previous token */
	char prev_ch;         /* its first byte */
	size_t prev_end;      /* the offset just past it */
};

/* --- keywords -------------------------------------------------------------- */

/* ASCII upper case. */
static inline unsigned char up(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

/*
 * Keyword comparison.  kw is an upper-case word of kwlen bytes; the macros
 * take a string literal (the "" kw "" refuses anything else) and pass its
 * length, computed at compile time: keywords are compared on every token.
 */
static inline bool bytes_is_n(const char *b, size_t n, const char *kw, size_t kwlen)
{
	if (n != kwlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (up((unsigned char)b[i]) != (unsigned char)kw[i])
			return false;
	return true;
}

static inline bool tok_is_n(const char *s, const struct tok *t, const char *kw, size_t kwlen)
{
	return t->type == TK_WORD && bytes_is_n(s + t->pos, t->len, kw, kwlen);
}

#define KWLEN(kw) (sizeof("" kw "") - 1)
#define bytes_is(b, n, kw) bytes_is_n((b), (n), (kw), KWLEN(kw))
#define tok_is(s, t, kw) tok_is_n((s), (t), (kw), KWLEN(kw))

/* A table of keywords, with their lengths. */
struct kw {
	const char *s;
	size_t n;
};
#define KW(x) { "" x "", KWLEN(x) }

static inline bool tok_punct(const struct tok *t, const char *s, char ch)
{
	return t->type == TK_PUNCT && t->len == 1 && s[t->pos] == ch;
}

/* --- across the split ------------------------------------------------------ */

/* lexer.c: read the next token of *lx into *t (TK_EOF at lx->end). */
void lex_next(struct lex *lx, struct tok *t);

/* lexer.c: s[from, to) is only white space, as the lexer skips it. */
bool lex_only_space(const char *s, size_t from, size_t to);

/*
 * lexer.c: does the statement whose first token is *first (*after is the
 * lexer just past it) carry a body of ';'-separated statements?
 */
bool starts_compound(const struct lex *after, const struct tok *first);

/*
 * classify.c: classify the statement sql[start->pos, end) into *st
 * (*start is the lexer at the statement's start).
 */
void classify_stmt(struct sql_stmt *st, const struct lex *start, size_t end);

#endif
