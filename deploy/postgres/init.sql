-- One database and one role per service: no service can read another's data.
CREATE ROLE intake LOGIN PASSWORD 'intake';
CREATE DATABASE intake OWNER intake;
CREATE ROLE planning LOGIN PASSWORD 'planning';
CREATE DATABASE planning OWNER planning;
CREATE ROLE referrals LOGIN PASSWORD 'referrals';
CREATE DATABASE referrals OWNER referrals;
CREATE ROLE notifications LOGIN PASSWORD 'notifications';
CREATE DATABASE notifications OWNER notifications;
CREATE ROLE reporting LOGIN PASSWORD 'reporting';
CREATE DATABASE reporting OWNER reporting;
CREATE ROLE web LOGIN PASSWORD 'web';
CREATE DATABASE web OWNER web;
