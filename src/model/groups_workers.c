/*
 * groups_workers.c
 *	  The fits of one ml_train_groups call spread over dynamic background
 *	  workers.
 *
 * The leader (the backend) puts every fit's design (already encoded and
 * split, so a worker reads no relation and needs no database connection)
 * and the hyperparameters into one DSM segment, with one shm_mq per worker
 * for the answers. Workers claim fits with an atomic counter, fit them
 * with the same learner code the backend runs (they are processes: palloc
 * and ereport are theirs), and send back the learner's saved bytes, which
 * the leader reads back with the learner's validating load. A fit gives the
 * same model whichever process ran it. An error in a worker comes back as
 * its SQLSTATE and message; a cancel or an error in the leader terminates
 * the workers. Fits no worker claimed (no worker slot was free) run in the
 * leader.
 */
#include "postgres.h"

#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "tcop/tcopprot.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/wait_event.h"

#include "model/groups.h"

PGDLLEXPORT void ml_groups_worker_main(Datum arg);

#define GW_MAGIC 0x4d4c4757		/* "MLGW" */
#define GW_MQ_SIZE (1024 * 1024)

typedef struct GwHeader
{
	pg_atomic_uint32 next;		/* next fit to claim */
	int32		nfits;
	int32		nworkers;
	int32		task;
	int32		nclass;
	char		learner[64];
	Size		hp_len;			/* 0: no hyperparameters */
	Size		hp_off;
	Size		mq_off;
	Size		fit[FLEXIBLE_ARRAY_MEMBER];	/* per fit: its design's offset, length */
} GwHeader;

/* A design as bytes (model.h's contract: no weights, features then y). */
static void
design_write(StringInfo buf, const MlDesign *d)
{
	MlWriteInt64(buf, d->nrows);
	MlWriteInt32(buf, d->nfeat);
	MlWriteInt64(buf, (int64) d->seed);
	for (int f = 0; f < d->nfeat; f++)
	{
		MlWriteInt32(buf, d->categorical[f]);
		MlWriteInt32(buf, d->ncat[f]);
		MlWriteString(buf, d->name[f]);
		MlWriteFloat8s(buf, d->col[f], d->nrows);
	}
	MlWriteFloat8s(buf, d->y, d->nrows);
}

static MlDesign *
design_read(MlReader *r, MlTask task, int nclass)
{
	MlDesign   *d = palloc0(sizeof(MlDesign));

	d->nrows = MlReadInt64(r, 0, r->len / 8);
	d->nfeat = MlReadInt32(r, 1, r->len / 8);
	d->seed = (uint64) MlReadInt64(r, PG_INT64_MIN, PG_INT64_MAX);
	d->col = palloc(sizeof(double *) * d->nfeat);
	d->categorical = palloc(sizeof(bool) * d->nfeat);
	d->ncat = palloc(sizeof(int) * d->nfeat);
	d->name = palloc(sizeof(char *) * d->nfeat);
	for (int f = 0; f < d->nfeat; f++)
	{
		d->categorical[f] = MlReadInt32(r, 0, 1);
		d->ncat[f] = MlReadInt32(r, 0, PG_INT32_MAX);
		d->name[f] = MlReadString(r);
		d->col[f] = palloc_extended(sizeof(double) * Max(d->nrows, 1), MCXT_ALLOC_HUGE);
		MlReadFloat8s(r, d->col[f], d->nrows);
	}
	d->y = palloc_extended(sizeof(double) * Max(d->nrows, 1), MCXT_ALLOC_HUGE);
	MlReadFloat8s(r, d->y, d->nrows);
	d->task = task;
	d->nclass = nclass;
	MlReadEnd(r);
	return d;
}

/* worker */
void
ml_groups_worker_main(Datum arg)
{
	dsm_segment *seg;
	GwHeader   *h;
	shm_mq_handle *mqh;
	shm_mq	   *mq;
	const MlLearner *l;
	JsonbContainer *volatile hp = NULL;
	void	   *params;
	MemoryContext fitcxt;
	int			me;
	StringInfoData msg;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pg_mlops groups worker");
	memcpy(&me, MyBgworkerEntry->bgw_extra, sizeof(me));
	seg = dsm_attach(DatumGetUInt32(arg));
	if (seg == NULL)
		proc_exit(0);			/* the leader is gone */
	h = dsm_segment_address(seg);
	mq = (shm_mq *) ((char *) h + h->mq_off + (Size) me * GW_MQ_SIZE);
	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	l = MlLearnerByName(h->learner);
	if (l == NULL)
		elog(ERROR, "unknown learner \"%s\" in a groups worker", h->learner);
	if (h->hp_len > 0)
	{
		Jsonb	   *j = palloc(h->hp_len);

		memcpy(j, (char *) h + h->hp_off, h->hp_len);
		hp = &j->root;
	}
	fitcxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops groups fit", ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&msg);
	for (;;)
	{
		uint32		t = pg_atomic_fetch_add_u32(&h->next, 1);
		MemoryContext old;
		MlReader	r;

		if (t >= (uint32) h->nfits)
			break;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(fitcxt);
		resetStringInfo(&msg);
		pq_sendint32(&msg, t);
		PG_TRY();
		{
			MlDesign   *d;

			r.data = (char *) h + h->fit[2 * t];
			r.len = (int) h->fit[2 * t + 1];
			r.pos = 0;
			r.what = "a design of a groups worker";
			d = design_read(&r, (MlTask) h->task, h->nclass);
			params = l->read_params(hp, d->task);
			appendStringInfoChar(&msg, 'M');
			l->save(l->fit(d, params), &msg);
		}
		PG_CATCH();
		{
			ErrorData  *e;

			MemoryContextSwitchTo(fitcxt);
			e = CopyErrorData();
			FlushErrorState();
			resetStringInfo(&msg);
			pq_sendint32(&msg, t);
			appendStringInfoChar(&msg, 'E');
			pq_sendint32(&msg, e->sqlerrcode);
			appendStringInfoString(&msg, e->message ? e->message : "unknown error");
			appendStringInfoChar(&msg, '\0');
			appendStringInfoString(&msg, e->detail ? e->detail : "");
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		if (shm_mq_send(mqh, msg.len, msg.data, false, true) != SHM_MQ_SUCCESS)
			break;				/* the leader went away */
		MemoryContextReset(fitcxt);
		initStringInfo(&msg);
	}
	proc_exit(0);
}

/* The shared segment: header, hyperparameters, designs, queues. */
static dsm_segment *
setup_segment(const MlLearner *l, Jsonb *hp, MlDesign **designs, int nfits, int nworkers,
			  GwHeader **hout)
{
	Size		head = MAXALIGN(offsetof(GwHeader, fit) + sizeof(Size) * 2 * nfits);
	Size		hp_len = hp ? VARSIZE(hp) : 0;
	StringInfoData *bufs = palloc(sizeof(StringInfoData) * Max(nfits, 1));
	Size		total = head + MAXALIGN(hp_len);
	dsm_segment *seg;
	GwHeader   *h;
	Size		off;

	for (int i = 0; i < nfits; i++)
	{
		initStringInfo(&bufs[i]);
		design_write(&bufs[i], designs[i]);
		total = add_size(total, MAXALIGN(bufs[i].len));
		CHECK_FOR_INTERRUPTS();
	}
	total = add_size(total, mul_size(GW_MQ_SIZE, nworkers));
	seg = dsm_create(total, 0);
	h = dsm_segment_address(seg);
	pg_atomic_init_u32(&h->next, 0);
	h->nfits = nfits;
	h->nworkers = nworkers;
	h->task = designs[0]->task;
	h->nclass = designs[0]->nclass;
	strlcpy(h->learner, l->name, sizeof(h->learner));
	h->hp_len = hp_len;
	h->hp_off = head;
	if (hp_len)
		memcpy((char *) h + head, hp, hp_len);
	off = head + MAXALIGN(hp_len);
	for (int i = 0; i < nfits; i++)
	{
		h->fit[2 * i] = off;
		h->fit[2 * i + 1] = bufs[i].len;
		memcpy((char *) h + off, bufs[i].data, bufs[i].len);
		off += MAXALIGN(bufs[i].len);
		pfree(bufs[i].data);
	}
	h->mq_off = off;
	*hout = h;
	return seg;
}

static int
start_workers(dsm_segment *seg, GwHeader *h, int nworkers, BackgroundWorkerHandle **handles,
			  shm_mq_handle **mqh)
{
	int			started = 0;

	for (int w = 0; w < nworkers; w++)
	{
		BackgroundWorker bgw;
		shm_mq	   *mq = shm_mq_create((char *) h + h->mq_off + (Size) started * GW_MQ_SIZE,
									   GW_MQ_SIZE);

		memset(&bgw, 0, sizeof(bgw));
		bgw.bgw_flags = BGWORKER_SHMEM_ACCESS;
		bgw.bgw_start_time = BgWorkerStart_ConsistentState;
		bgw.bgw_restart_time = BGW_NEVER_RESTART;
		snprintf(bgw.bgw_library_name, BGW_MAXLEN, "pg_mlops");
		snprintf(bgw.bgw_function_name, BGW_MAXLEN, "ml_groups_worker_main");
		snprintf(bgw.bgw_name, BGW_MAXLEN, "pg_mlops groups worker %d for PID %d", started, MyProcPid);
		snprintf(bgw.bgw_type, BGW_MAXLEN, "pg_mlops groups worker");
		memcpy(bgw.bgw_extra, &started, sizeof(started));
		bgw.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
		bgw.bgw_notify_pid = MyProcPid;
		shm_mq_set_receiver(mq, MyProc);
		if (!RegisterDynamicBackgroundWorker(&bgw, &handles[started]))
			break;				/* no slot: the leader fits what is left */
		mqh[started] = shm_mq_attach(mq, seg, handles[started]);
		started++;
	}
	return started;
}

/* One answer: the model of fit t, or the worker's error raised here. */
static void
take_answer(const MlLearner *l, MlDesign **designs, void **models, int nfits, const char *data,
			Size len)
{
	MlReader	r;
	int32		t;
	MlDesign	shape;

	r.data = data;
	r.len = (int) len;
	r.pos = 0;
	r.what = "the answer of a groups worker";
	t = MlReadInt32(&r, 0, nfits - 1);
	if (r.pos >= r.len)
		MlPayloadInvalid(&r, "it ends too early");
	if (r.data[r.pos++] == 'E')
	{
		int32		code = MlReadInt32(&r, PG_INT32_MIN, PG_INT32_MAX);
		const char *message = r.data + r.pos;
		int			mlen = strnlen(message, r.len - r.pos);
		const char *detail = mlen < r.len - r.pos ? message + mlen + 1 : "";
		int			dlen = mlen < r.len - r.pos ? r.len - r.pos - mlen - 1 : 0;

		ereport(ERROR,
				(errcode(code),
				 errmsg("%.*s", mlen, message),
				 dlen > 0 ? errdetail("%.*s", dlen, detail) : 0,
				 errcontext("a background worker fitting a group")));
	}
	shape = *designs[t];
	shape.nrows = 0;
	models[t] = l->load(&r, &shape);
	MlReadEnd(&r);
}

/* Wait for every worker's answers; returns when all queues are detached. */
static void
collect(const MlLearner *l, MlDesign **designs, void **models, int nfits, shm_mq_handle **mqh,
		int started)
{
	bool	   *done = palloc0(sizeof(bool) * started);
	int			ndone = 0;

	while (ndone < started)
	{
		bool		any = false;

		for (int w = 0; w < started; w++)
		{
			Size		len;
			void	   *data;
			shm_mq_result res;

			if (done[w])
				continue;
			res = shm_mq_receive(mqh[w], &len, &data, true);
			if (res == SHM_MQ_SUCCESS)
			{
				take_answer(l, designs, models, nfits, data, len);
				any = true;
			}
			else if (res == SHM_MQ_DETACHED)
			{
				done[w] = true;
				ndone++;
			}
		}
		if (!any && ndone < started)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Fit designs[0..nfits) with learner l and hyperparameters hp (parsed as
 * params for the leader's own fits) over up to nworkers background
 * workers; models[i] gets fit i's model. Returns the workers started.
 */
int
MlGroupsFit(const MlLearner *l, Jsonb *hp, void *params, MlDesign **designs, void **models,
			int nfits, int nworkers)
{
	dsm_segment *seg;
	GwHeader   *h;
	BackgroundWorkerHandle **handles;
	shm_mq_handle **mqh;
	int			started = 0;

	for (int i = 0; i < nfits; i++)
		models[i] = NULL;
	if (nfits == 0)
		return 0;
	nworkers = Min(nworkers, nfits);
	if (nworkers <= 0)
	{
		for (int i = 0; i < nfits; i++)
		{
			models[i] = l->fit(designs[i], params);
			CHECK_FOR_INTERRUPTS();
		}
		return 0;
	}
	seg = setup_segment(l, hp, designs, nfits, nworkers, &h);
	handles = palloc0(sizeof(BackgroundWorkerHandle *) * nworkers);
	mqh = palloc0(sizeof(shm_mq_handle *) * nworkers);
	PG_TRY();
	{
		started = start_workers(seg, h, nworkers, handles, mqh);
		collect(l, designs, models, nfits, mqh, started);
		/* what no worker claimed: no slot was free, or the workers exited early */
		for (int i = 0; i < nfits; i++)
			if (models[i] == NULL)
			{
				models[i] = l->fit(designs[i], params);
				CHECK_FOR_INTERRUPTS();
			}
	}
	PG_CATCH();
	{
		for (int w = 0; w < started; w++)
			TerminateBackgroundWorker(handles[w]);
		PG_RE_THROW();
	}
	PG_END_TRY();
	dsm_detach(seg);
	return started;
}
