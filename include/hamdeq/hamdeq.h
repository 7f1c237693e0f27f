/**
 * @file hamdeq.h
 * @brief Umbrella header of libhamdeq: Hierarchical Associative Memories solved as Deep
 * Equilibrium Models with even-odd splitting.
 */
#ifndef HAMDEQ_HAMDEQ_H
#define HAMDEQ_HAMDEQ_H

#include "common.h"
#include "lagrangian.h"
#include "model.h"
#include "solver.h"
#include "trainer.h"
#include "data.h"
#include "mhn.h"

#endif /* HAMDEQ_HAMDEQ_H */
