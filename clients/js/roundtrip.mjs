// A round trip through erasured with kitsu, a general-purpose JSON:API client from the
// npm registry, as a client program would use it. cmd/erasured's TestJavaScriptClient
// runs it against a real server (`make test`); by hand:
//
//	npm ci --prefix clients/js
//	ERASURED_URL=http://localhost:8080 ERASURED_TOKEN=erd_… node clients/js/roundtrip.mjs
//
// The key needs the scopes erasure_requests:read, erasure_requests:write,
// erasure_requests:workflow, requests:read, requests:write and deletions:read. Every
// record it makes is tagged with a fresh run id, so it may run against a server that
// holds other records. It exits 1 with a message at the first thing that is not as the
// contract says. The background erasure worker must leave its erasure requests alone
// while it runs (the test starts the server with --erasure-poll 1h), or the statuses it
// checks move under it.
//
// Everything goes through kitsu's API; headers such as Idempotency-Key and If-Match are
// its per-request headers. Left out: the workflow endpoint (PATCH /v1/erasure-requests/…),
// which is plain JSON, not JSON:API, where kitsu would wrap any body in {"data":…}.
import Kitsu from 'kitsu'

const base = (process.env.ERASURED_URL || '').replace(/\/+$/, '')
const token = process.env.ERASURED_TOKEN
if (!base || !token) {
  fail('set ERASURED_URL (e.g. http://localhost:8080) and ERASURED_TOKEN')
}

// kitsu's defaults are made for kitsu.app: it pluralises and camel-cases types and
// kebab-cases paths. erasured's types are erasure_request and requests, and its paths are
// used as they are, so all three conversions are off. kitsu sends
// Accept and Content-Type: application/vnd.api+json itself.
const options = {
  headers: { Authorization: `Bearer ${token}` },
  camelCaseTypes: false,
  resourceCase: 'none',
  pluralize: false,
  timeout: 10000,
  // axios would send even loopback requests through an HTTP_PROXY in the environment.
  axiosOptions: { proxy: false }
}
const erasures = new Kitsu({ ...options, baseURL: `${base}/v2/personal-data` })
const notes = new Kitsu({ ...options, baseURL: `${base}/api/public/v1` })
const root = new Kitsu({ ...options, baseURL: base })

// Failure is a mismatch found by the checks below, as opposed to an error kitsu raised.
class Failure extends Error {}

const run = `rt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
let step = 'start'

try {
  await erasureRequests()
  await openNotesRequests()
} catch (e) {
  if (e instanceof Failure) fail(e.message)
  // An error that kitsu raised for a response it did not expect carries the response.
  const r = e.response
  fail(r ? `${step}: ${r.config.method.toUpperCase()} ${erasures.axios.getUri(r.config)} answered ${r.status} ${JSON.stringify(r.data)}` : `${step}: ${e.stack || e}`)
}
console.log(`roundtrip: ok (${run})`)

async function erasureRequests () {
  // --- create ---------------------------------------------------------------------------
  // kitsu's post(model, body) takes the resource type from the path's last segment
  // (erasure-requests); erasured's type is erasure_request, so the creates and the patch
  // go through kitsu's generic request(), which serialises the body with the type given.
  step = 'create erasure requests'
  const accounts = []
  for (let i = 0; i < 5; i++) {
    const res = await erasures.request({
      method: 'POST',
      url: 'erasure-requests',
      type: 'erasure_request',
      body: { resource_type: 'account', resource_id: `${run}-${i}`, reason: `round trip ${i}` }
    })
    expect(res.status, 201, 'status of a create')
    const r = res.data
    expect(r.type, 'erasure_request', 'type of a created resource')
    check(typeof r.id === 'string' && r.id !== '', `created resource has no string id: ${JSON.stringify(r)}`)
    expect(r.resource_id, `${run}-${i}`, 'resource_id of a created resource')
    expect(r.status, 'CREATED', 'status of a new erasure request')
    expect(res.headers.location, r.links.self, 'Location of a create')
    accounts.push(r)
  }
  // One of another resource_type, which the filter below must leave out.
  await erasures.request({
    method: 'POST',
    url: 'erasure-requests',
    type: 'erasure_request',
    body: { resource_type: 'order', resource_id: `${run}-order` }
  })

  // Idempotency-Key is a plain request header, which kitsu passes through: the same key
  // with the same body replays the first response.
  step = 'create with an Idempotency-Key'
  const once = {
    method: 'POST',
    url: 'erasure-requests',
    type: 'erasure_request',
    body: { resource_type: 'account', resource_id: `${run}-idem` },
    headers: { 'Idempotency-Key': `${run}-idem` }
  }
  const first = await erasures.request(once)
  const again = await erasures.request(once)
  expect(again.data.id, first.data.id, 'id of a replayed create')
  accounts.push(first.data)

  // --- list with a filter, following links.next to the end ------------------------------
  step = 'list with a filter and follow links.next'
  const seen = new Map()
  let page = await erasures.get('erasure-requests', {
    params: {
      filter: `eq(resource_type,account):like(resource_id,${run}-*)`,
      sort: '-created_at',
      page: { limit: 2 }
    }
  })
  expect(page.links.prev, null, 'links.prev of the first page')
  const total = page.meta.results.total
  const pages = page.meta.page.total
  let pagesRead = 0
  for (;;) {
    pagesRead++
    check(pagesRead <= pages, `links.next went past the ${pages} pages that meta.page.total announced`)
    check(Array.isArray(page.data) && page.data.length <= 2, `a page of page[limit]=2 holds ${page.data?.length} records`)
    for (const r of page.data) {
      check(!seen.has(r.id), `record ${r.id} came twice while following links.next`)
      check(r.resource_type === 'account' && r.resource_id.startsWith(`${run}-`), `the filter let through ${JSON.stringify(r)}`)
      seen.set(r.id, r)
    }
    if (page.links.next == null) break
    // links.next is an absolute URL with the filter, sort and page parameters in it.
    // kitsu's get() builds its URL from a model name; its request() sends any URL as is.
    page = await erasures.request({ method: 'GET', url: page.links.next })
  }
  expect(pagesRead, pages, 'pages read by following links.next')
  expect(seen.size, accounts.length, 'records counted by following links.next')
  expect(total, accounts.length, 'meta.results.total')
  for (const r of accounts) check(seen.has(r.id), `record ${r.id} was never listed`)

  // --- read one back ----------------------------------------------------------------------
  step = 'read an erasure request back'
  const target = accounts[2]
  const read = await erasures.get(`erasure-requests/${target.id}`)
  for (const k of ['id', 'type', 'resource_type', 'resource_id', 'reason', 'status', 'created_at', 'due_at']) {
    expect(read.data[k], target[k], `${k} read back`)
  }
  const etag = read.headers.etag
  check(etag, 'GET of one erasure request has no ETag')

  // --- patch through JSON:API -------------------------------------------------------------
  // kitsu's patch() has the same type-from-path rule as post(); request() again. If-Match
  // is a plain header.
  step = 'patch an erasure request'
  const patched = await erasures.request({
    method: 'PATCH',
    url: `erasure-requests/${target.id}`,
    type: 'erasure_request',
    body: { id: target.id, status: 'in_progress' },
    headers: { 'If-Match': etag }
  })
  expect(patched.status, 200, 'status of a PATCH')
  expect(patched.data.status, 'IN_PROGRESS', 'status in the PATCH response')
  const after = await erasures.get(`erasure-requests/${target.id}`)
  expect(after.data.status, 'IN_PROGRESS', 'status read back after the PATCH')
  expect(after.data.status_description, 'The erasure request is being processed', 'status_description after the PATCH')
  check(after.headers.etag && after.headers.etag !== etag, `the ETag did not change with the PATCH: ${after.headers.etag}`)

  // The audit trail through include=events, which kitsu links into the resource, with a
  // sparse fieldset.
  const trail = await erasures.get(`erasure-requests/${target.id}`, {
    params: { include: 'events', fields: { erasure_request: 'status,events' } }
  })
  expect(trail.data.resource_id, undefined, 'resource_id outside fields[erasure_request]')
  const events = trail.data.events?.data
  check(Array.isArray(events), `include=events gave no linked events: ${JSON.stringify(trail.data)}`)
  expect(events.map(e => `${e.old_status}>${e.new_status}`).join(' '), 'null>pending pending>in_progress', 'the audit trail')

  // --- errors, read through kitsu's own error handling -----------------------------------
  // kitsu rejects with the axios error, and puts the document's errors on error.errors.
  step = 'read the errors of bad requests'
  const stale = await rejection(erasures.request({
    method: 'PATCH',
    url: `erasure-requests/${target.id}`,
    type: 'erasure_request',
    body: { id: target.id, status: 'completed' },
    headers: { 'If-Match': etag }
  }), 'a PATCH with a stale If-Match')
  expectError(stale, 412, null)

  const bad = await rejection(erasures.request({
    method: 'POST',
    url: 'erasure-requests',
    type: 'erasure_request',
    body: { resource_type: 'planet', resource_id: `${run}-bad` }
  }), 'a create with an unknown resource_type')
  const err = expectError(bad, 400, { pointer: '/data/attributes/resource_type' })
  check(/resource_type/.test(err.detail), `the detail does not name resource_type: ${err.detail}`)

  const badFilter = await rejection(erasures.get('erasure-requests', { params: { filter: 'eq(colour,blue)' } }),
    'a list with an unknown filter attribute')
  expectError(badFilter, 400, { parameter: 'filter' })

  const missing = await rejection(erasures.get('erasure-requests/00000000-0000-4000-8000-000000000000'), 'a read of an unknown id')
  expectError(missing, 404, null)
}

async function openNotesRequests () {
  // Type "requests" and path segment "requests" agree, so kitsu's post(), get() and patch()
  // work as they are.
  step = 'create Open Notes requests'
  const person = `${run}-person`
  const ids = []
  for (let i = 0; i < 3; i++) {
    const res = await notes.post('requests', {
      request_id: `${run}-req-${i}`,
      requested_by: person,
      content: `note ${i}`,
      metadata: { source: 'roundtrip', index: i }
    })
    expect(res.status, 201, 'status of a create')
    expect(res.data.type, 'requests', 'type of a created request')
    expect(res.data.id, `${run}-req-${i}`, 'id of a created request')
    expect(res.data.status, 'PENDING', 'status of a new request')
    expect(res.data.note_id, null, 'note_id of a new request')
    ids.push(res.data.id)
  }

  step = 'list Open Notes requests with a filter'
  let page = await notes.get('requests', { params: { filter: `eq(requested_by,${person})`, page: { limit: 2 } } })
  const seen = new Set()
  for (;;) {
    for (const r of page.data) {
      check(!seen.has(r.id), `request ${r.id} came twice while following links.next`)
      expect(r.requested_by, person, 'requested_by of a filtered request')
      seen.add(r.id)
    }
    if (page.links.next == null) break
    page = await notes.request({ method: 'GET', url: page.links.next })
  }
  expect(seen.size, ids.length, 'requests counted by following links.next')

  step = 'patch note_id of an Open Notes request'
  const noteID = '3f2b8a4e-9c1d-4e6f-8a7b-2c5d9e0f1a3b'
  const patched = await notes.patch('requests', { id: ids[1], note_id: noteID })
  expect(patched.status, 200, 'status of a PATCH')
  expect(patched.data.note_id, noteID, 'note_id in the PATCH response')
  const read = await notes.get(`requests/${ids[1]}`)
  expect(read.data.note_id, noteID, 'note_id read back')
  expect(read.data.content, 'note 1', 'content read back')

  step = 'read the error of a bad Open Notes PATCH'
  const bad = await rejection(notes.patch('requests', { id: ids[1], requested_by: 'someone else' }),
    'a PATCH of requested_by, which may not change')
  expectError(bad, 400, { pointer: '/data/attributes/requested_by' })

  // kitsu's remove() sends {"data":{"type":"requests","id":…}} as the DELETE's body;
  // erasured ignores it. The 202's document is meta only, and the deletion's status is a
  // JSON:API resource of type deletions when asked for with kitsu's Accept.
  step = 'delete an Open Notes request and follow its deletion'
  const deleted = await notes.remove('requests', ids[0])
  expect(deleted.status, 202, 'status of a DELETE')
  const deletionID = deleted.meta?.deletion_id
  check(Number.isInteger(deletionID), `the DELETE's meta has no deletion_id: ${JSON.stringify(deleted.meta)}`)
  expect(deleted.headers.location, `${base}/deletions/${deletionID}`, 'Location of a DELETE')
  let deletion
  for (const start = Date.now(); ; await sleep(100)) {
    deletion = (await root.get(`deletions/${deletionID}`)).data
    expect(deletion.type, 'deletions', 'type of a deletion')
    expect(deletion.id, String(deletionID), 'id of a deletion')
    if (deletion.status !== 'PENDING' || Date.now() - start > 10000) break
  }
  expect(deletion.status, 'SUCCESS', 'status of the deletion')
  expectError(await rejection(notes.get(`requests/${ids[0]}`), 'a read of a deleted request'), 410, null)
}

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

// rejection awaits a promise that must reject, and returns its error.
async function rejection (promise, what) {
  try {
    const res = await promise
    fail(`${step}: ${what} succeeded with ${res.status}, want an error`)
  } catch (e) {
    if (e instanceof Failure) throw e
    return e
  }
}

// expectError checks an error that kitsu raised: the HTTP status, and the JSON:API error
// object it exposes as error.errors[0] with a string status, a code, a title, a detail and
// the given source (null for none). It returns the error object.
function expectError (e, status, source) {
  expect(e.response?.status, status, 'HTTP status of an error')
  check(Array.isArray(e.errors) && e.errors.length > 0, `kitsu found no JSON:API errors in ${JSON.stringify(e.response?.data)}`)
  const err = e.errors[0]
  expect(err.status, String(status), 'status member of an error object (a string)')
  for (const k of ['code', 'title', 'detail']) {
    check(typeof err[k] === 'string' && err[k] !== '', `error object has no ${k}: ${JSON.stringify(err)}`)
  }
  if (source) {
    for (const [k, v] of Object.entries(source)) expect(err.source?.[k], v, `source.${k} of an error`)
  }
  return err
}

function expect (got, want, what) {
  check(got === want, `${what} is ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
}

function check (ok, message) {
  if (!ok) throw new Failure(`${step}: ${message}`)
}

function fail (message) {
  console.error(`roundtrip: FAIL: ${message}`)
  process.exit(1)
}
