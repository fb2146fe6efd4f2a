/*
 * catalogue.h — installing a model file, for the trainer.
 */
#ifndef PGB_CATALOGUE_H
#define PGB_CATALOGUE_H

#include "postgres.h"

/* Install the model file or Hugging Face directory at path as name, as
 * bert_install_model does (the caller checks the privilege). */
void		pgb_install_model_file(const char *name, const char *path, bool replace);

#endif							/* PGB_CATALOGUE_H */
