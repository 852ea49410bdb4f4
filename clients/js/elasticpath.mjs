// A round trip through erasured with Elastic Path's own JavaScript SDK
// (@elasticpath/js-sdk, from the npm registry, unmodified), as a program written for
// Elastic Path uses it: the gateway is given a client id and secret, authenticates by
// POST /oauth/access_token, and reads Elastic Path's representation. cmd/erasured's
// TestElasticPathSDK runs it against a real server (`make test`); by hand:
//
//	npm ci --prefix clients/js
//	erasured keys create --json --representation elasticpath --name sdk --email sdk@example.com \
//	  --store eu --scopes erasure_requests:read,erasure_requests:write,erasure_requests:workflow,requests:write
//	ERASURED_URL=http://localhost:8080 ERASURED_CLIENT_ID=<id> ERASURED_CLIENT_SECRET=<token> node clients/js/elasticpath.mjs
//
// The key must be made with --representation elasticpath: the SDK sends no Accept, so
// the key's default decides. Every record is tagged with a fresh run id. It exits 1 with
// a message at the first thing that is not as the contract says. The background erasure
// worker must leave its erasure requests alone (the test runs the server with
// --erasure-poll 1h), or their statuses move under it.
//
// Everything of Elastic Path's Personal Data API goes through the SDK: no
// custom_authenticator, no custom fetch. Only the Open Notes requests whose logs it
// reads are made with plain fetch, as they are erasured's own and the SDK knows nothing
// of them.
import { gateway, MemoryStorageFactory } from '@elasticpath/js-sdk'

const url = new URL(process.env.ERASURED_URL || 'http://invalid')
const clientID = process.env.ERASURED_CLIENT_ID
const secret = process.env.ERASURED_CLIENT_SECRET
if (!process.env.ERASURED_URL || !clientID || !secret) {
  fail('set ERASURED_URL, ERASURED_CLIENT_ID and ERASURED_CLIENT_SECRET')
}

// The SDK keeps its access token in a storage; in Node its default is a folder it
// writes in the working directory, so the round trip keeps it in memory instead.
const ep = gateway({
  client_id: clientID,
  client_secret: secret,
  host: url.host,
  protocol: url.protocol.replace(':', ''),
  storage: new MemoryStorageFactory()
})

const run = `sdk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
let step = 'start'

class Failure extends Error {}

try {
  await erasureRequests()
  await personalData()
} catch (e) {
  if (e instanceof Failure) fail(e.message)
  // The SDK rejects with the body of an answer it did not expect.
  fail(`${step}: ${e instanceof Error ? e.stack : JSON.stringify(e)}`)
}
console.log(`elasticpath: ok (${run})`)

async function erasureRequests () {
  step = 'create erasure requests'
  const ids = []
  for (let i = 0; i < 5; i++) {
    const { data } = await ep.ErasureRequests.Create('account', run)
    expect(data.type, 'erasure_request', 'type of a created erasure request')
    expect(data.status, 'CREATED', 'status of a new erasure request')
    expect(data.resource_id, run, 'resource_id of a created erasure request')
    check(typeof data.links?.self === 'string', `no links.self: ${JSON.stringify(data)}`)
    ids.push(data.id)
  }

  step = 'filter and page erasure requests'
  const all = await ep.ErasureRequests.Filter('account', run).All()
  expect(all.data.length, 5, 'erasure requests the filter finds')
  expect(all.meta.results.total, 5, 'meta.results.total')
  const page = await ep.ErasureRequests.Filter('account', run).Limit(2).Offset(2).All()
  expect(page.data.length, 2, 'records on the page at offset 2, limit 2')
  expect(page.meta.page.current, 2, 'meta.page.current')
  expect(page.meta.page.total, 3, 'meta.page.total (pages)')
  check(page.links.current === page.links.self && page.links.prev && page.links.next, `page links: ${JSON.stringify(page.links)}`)
  for (const record of page.data) {
    expect(record.status, 'CREATED', 'record.status on a page')
    check(ids.slice(2, 4).includes(record.id), `the page at offset 2 holds ${record.id}, not the third or fourth created`)
  }
  const none = await ep.ErasureRequests.Filter('account', `${run}-nobody`).All()
  expect(none.data.length, 0, 'erasure requests of nobody')

  step = 'read an erasure request'
  const one = await ep.ErasureRequests.Get(ids[0])
  expect(one.data.id, ids[0], 'id of the erasure request read')
  expect(one.data.status, 'CREATED', 'status of the erasure request read')

  step = 'an invalid erasure request'
  try {
    await ep.ErasureRequests.Create('planet', run)
    throw new Failure('an erasure request of resource_type planet was accepted')
  } catch (e) {
    if (e instanceof Failure) throw e
    const err = e.errors?.[0]
    check(err && err.status === '400' && err.title === 'Bad Request' && err.detail, `the error of a bad create: ${JSON.stringify(e)}`)
  }
}

async function personalData () {
  step = 'make the requests of a person'
  const person = `${run}-person`
  const requests = [`${run}-r1`, `${run}-r2`]
  for (const id of requests) {
    const res = await fetch(`${url.origin}/api/public/v1/requests`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'requests', attributes: { request_id: id, requested_by: person, content: `said by ${person}` } } })
    })
    check(res.status === 201, `POST /api/public/v1/requests answered ${res.status}: ${await res.text()}`)
  }

  step = 'read the logs of a request'
  const logs = await ep.PersonalData.Filter('requests', requests[0]).All()
  expect(logs.data.length, 1, 'log entries of a new request')
  const entry = logs.data[0]
  expect(entry.type, 'personal_data_log_entry', 'type of a log entry')
  expect(entry.event_type, 'requests.event.created', 'event_type of a log entry')
  expect(entry.resource_id, requests[0], 'resource_id of a log entry')
  expect(entry.delta.requested_by, person, 'delta.requested_by of a created request')
  expect(entry.initiator['access-token-id'], clientID, 'initiator of a log entry')

  step = 'page the logs of a person'
  const second = await ep.PersonalData.Filter('user', person).Limit(1).Offset(1).All()
  expect(second.data.length, 1, 'log entries on the second page')
  expect(second.meta.results.total, 2, 'log entries of the person')
  expect(second.data[0].resource_id, requests[1], 'the second entry of the person')

  step = 'read the related data entries'
  const related = await ep.DataEntries.Filter('requests', requests[1]).All()
  const got = related.data.map(e => `${e.type} ${e.resource_type}/${e.resource_id}`).join(', ')
  const want = [`user/${person}`, ...requests.map(id => `requests/${id}`)].map(e => `related_data_entry ${e}`).join(', ')
  expect(got, want, 'the entries of the set')

  step = 'logs time to live'
  const set = await ep.Settings.UpdateLogsTtl(30)
  expect(set.data.days, 30, 'days after UpdateLogsTtl')
  const ttl = await ep.Settings.GetLogsTtl()
  expect(ttl.data.type, 'time_to_live', 'type of the logs time to live')
  expect(ttl.data.days, 30, 'days of GetLogsTtl')
}

function expect (got, want, what) {
  check(got === want, `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
}

function check (ok, message) {
  if (!ok) throw new Failure(`${step}: ${message}`)
}

function fail (message) {
  console.error(`elasticpath: ${message}`)
  process.exit(1)
}
