/* Which API a path speaks: the shape of its errors and answers. http/ carries it opaquely on routes. */
#ifndef CWP_API_DIALECT_H
#define CWP_API_DIALECT_H

typedef enum { DIALECT_PLAIN, DIALECT_ANTHROPIC, DIALECT_OPENAI } api_dialect_t;

/* The dialect for a path no route matched (for 404/405 bodies). */
api_dialect_t api_dialect_for_path(const char *path);

#endif
