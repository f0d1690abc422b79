import { EC2Client, CreateTagsCommand, DescribeTagsCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { EBSClient, StartSnapshotCommand } from '@aws-sdk/client-ebs';
const creds = { accessKeyId: process.env.ALICE_KEY, secretAccessKey: process.env.ALICE_SECRET };
const c = { endpoint: process.env.ENDPOINT, region: 'us-east-1', credentials: creds };
const ec2 = new EC2Client(c), ebs = new EBSClient(c);
ec2.middlewareStack.add((next) => async (args) => {
  console.log('REQ BODY:', JSON.stringify(args.request.body));
  const r = await next(args);
  return r;
}, { step: 'finalizeRequest', name: 'dump' });
ec2.middlewareStack.add((next) => async (args) => {
  const r = await next(args);
  const chunks = []; for await (const ch of r.response.body) chunks.push(ch);
  const b = Buffer.concat(chunks); console.log('RESP', r.response.statusCode, JSON.stringify(b.toString('latin1')));
  const { Readable } = await import('node:stream'); r.response.body = Readable.from([b]);
  return r;
}, { step: 'deserialize', name: 'dumpresp' });
const s = await ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
await ec2.send(new CreateTagsCommand({ Resources: [s.SnapshotId], Tags: [{Key:'e2', Value:'x'}, { Key: 'empty', Value: '' }] }));
await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [s.SnapshotId] }] }));
await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [s.SnapshotId] }));
